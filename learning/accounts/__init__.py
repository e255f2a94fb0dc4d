"""Accounts, login, roles and API tokens."""
