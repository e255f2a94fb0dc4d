"""Lesson Markdown to HTML.  Raw HTML in a lesson is shown as text, never run: lessons come from
files and from administrators' editor, and neither should be able to put a script in a page."""
from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text or ""))


def media_url(lesson) -> str | None:
    """Where a lesson's audio or video is played from: its address, or our stored file."""
    from flask import url_for

    if not lesson.media:
        return None
    return lesson.media if lesson.external_media else url_for("courses.media", name=lesson.media)
