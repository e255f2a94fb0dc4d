"""Scheduled jobs: their definitions, the database locks that keep them single, their run records."""
