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


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LargeWorkbook:
    """An .xlsx of any length written row by row to a temporary file (XlsxWriter's constant-memory
    mode), so a city's 220,000 rows do not sit in the worker's memory; ``response`` sends the
    file and removes it; used as ``with LargeWorkbook() as book:``, a failure while writing removes it
too.  Text cells go through :func:`safe`.  ``progress`` (a function of the rows written so far) is
called every ``PROGRESS_ROWS`` rows: a background export's progress bar."""

    PROGRESS_ROWS = 1000

    def __init__(self, progress=None):
        import tempfile

        import xlsxwriter

        handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
        handle.close()
        self.path = handle.name
        self.book = xlsxwriter.Workbook(self.path, {"constant_memory": True, "strings_to_formulas": False,
                                                    "strings_to_urls": False, "strings_to_numbers": False})
        self.title_format = self.book.add_format({"bold": True, "font_size": 13})
        self.header_format = self.book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#B71C1C",
                                                   "align": "center"})
        self.bold = self.book.add_format({"bold": True})
        self.progress, self.rows = progress, 0

    def sheet(self, name: str, widths: list[int] = ()):
        sheet = self.book.add_worksheet(name[:31])
        for index, width in enumerate(widths):
            sheet.set_column(index, index, width)
        return _Sheet(sheet, self)

    def response(self, filename: str):
        import os

        from flask import send_file

        self.book.close()
        response = send_file(self.path, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename,
                             conditional=False, etag=False)
        path = self.path
        response.call_on_close(lambda: os.path.exists(path) and os.unlink(path))
        return response

    def bytes(self) -> bytes:
        """The finished file's content, and the file removed (a command writing it elsewhere)."""
        import os

        self.book.close()
        try:
            with open(self.path, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(self.path)

    def __enter__(self) -> "LargeWorkbook":
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if kind is not None:  # a failure while writing leaves no temporary file behind
            self.discard()
        return False

    def discard(self) -> None:
        import os

        try:
            self.book.close()
        finally:
            if os.path.exists(self.path):
                os.unlink(self.path)


class _Sheet:
    def __init__(self, sheet, book: LargeWorkbook):
        self._sheet, self._book, self.row = sheet, book, 0

    def append(self, values, style: str | None = None) -> None:
        cell_format = {"title": self._book.title_format, "header": self._book.header_format,
                       "bold": self._book.bold}.get(style)
        self._sheet.write_row(self.row, 0, safe_row(values), cell_format)
        self.row += 1
        book = self._book
        book.rows += 1
        if book.progress is not None and book.rows % book.PROGRESS_ROWS == 0:
            book.progress(book.rows)

    def freeze(self, rows: int) -> None:
        self._sheet.freeze_panes(rows, 0)
