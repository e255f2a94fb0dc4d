"""Courses, lessons, effective study time, credit hours and quotas."""
