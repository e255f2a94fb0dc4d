"""Cells of every export (CSV and XLSX) made safe from formula injection.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a
formula by Excel or WPS (a member named ``=HYPERLINK(…)`` arriving from the registry).  Following
OWASP's CSV-injection advice, such text is prefixed with an apostrophe, which spreadsheets show as
plain text.  Numbers stay numbers.
"""
from __future__ import annotations

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def safe_row(row) -> list:
    return [safe(value) for value in row]
