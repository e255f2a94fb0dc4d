"""URL converters bounded to what the database can hold: ``<int:id>`` above 2^31 − 1 is a 404,
not a PostgreSQL error."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter


class Int32Converter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        from learning.web import INT_MAX

        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


def init_app(app) -> None:
    app.url_map.converters["int"] = Int32Converter
