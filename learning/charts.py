"""Small charts drawn on the server: no JavaScript library, nothing from a CDN, readable on a phone
and printable.  Each function returns markup safe to embed.

Phones first: a chart is drawn in a 340-unit wide box so that on a 360–390 px phone one unit is
about one pixel and its 14-unit text is at least 12 px high; on a desktop its height is capped
(``.chart`` in app.css) so the text stays moderate.  Comparisons of named things (branches, courses,
levels) are an HTML list of bars instead: whole labels that wrap, real text, no SVG scaling.
"""
from __future__ import annotations

from collections import Counter
import math
from html import escape

from flask_babel import gettext as _
from markupsafe import Markup

WIDTH, HEIGHT = 340, 210
LEFT, RIGHT, TOP, BOTTOM = 38, 12, 26, 34
FONT = 14  # user units; ≥ 12 px on a 360 px phone
CHAR = 0.62 * FONT  # a digit's width, about


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def with_unit(value: float, unit: str) -> str:
    """"12 人", "12%", "12 points": a space before a word, none before a sign or a Chinese unit."""
    if not unit:
        return _fmt(value)
    return f"{_fmt(value)} {unit}" if unit[0].isascii() and unit[0].isalpha() else f"{_fmt(value)}{unit}"


def _frame(title: str, body: str, unit: str) -> Markup:
    axis_unit = (f'<text x="4" y="{TOP - 10}" font-size="{FONT}" fill="#5f6670">{escape(unit.strip())}</text>'
                 if unit.strip() else "")
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{axis_unit}"
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#8a8f96"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#8a8f96"/>'
        f"{body}</svg>"
    )


def _y_ticks(low: float, high: float, whole: bool = True) -> str:
    """Labels on the value axis: the bottom, the middle (unless it falls between whole numbers that are
    all the series can hold) and the top."""
    span = high - low or 1
    ticks = []
    for value in (low, (low + high) / 2, high):
        if whole and value != int(value):
            continue
        y = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value - low) / span
        label = _fmt(round(value, 1) if value != int(value) else int(value))
        ticks.append(f'<text x="{LEFT - 5}" y="{y + FONT * 0.35:.1f}" font-size="{FONT}" text-anchor="end" '
                     f'fill="#5f6670">{escape(label)}</text>')
        if value != low:
            ticks.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e3e5e8"/>')
    return "".join(ticks)


def bar_chart(labels: list[str], values: list[float], *, title: str, unit: str = "",
              highlight: int | None = None) -> Markup:
    """Vertical bars for short labels (a distribution's bins, answer options A–D): every bar has a
    tooltip with its whole label and value; labels that would collide are shown every few bars."""
    if not values:
        return Markup("")
    top = max(max(values), 1)
    n = len(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    widest = max(len(str(label)) for label in labels) * CHAR + 4
    every = max(1, math.ceil(widest / slot))
    parts = [_y_ticks(0, top, all(float(v).is_integer() for v in values))]
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * max(value, 0) / top
        x = LEFT + i * slot + slot * 0.12
        y = HEIGHT - BOTTOM - h
        colour = "#b71c1c" if i == highlight else "#e57373"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.76:.1f}" height="{h:.1f}" fill="{colour}">'
                     f"<title>{escape(str(label))}: {escape(with_unit(value, unit))}</title></rect>")
        centre = x + slot * 0.38
        if n <= 12 and len(_fmt(value)) * CHAR <= slot:
            parts.append(f'<text x="{centre:.1f}" y="{y - 4:.1f}" font-size="{FONT}" text-anchor="middle">'
                         f"{escape(_fmt(value))}</text>")
        if i % every == 0:
            parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + FONT + 4}" font-size="{FONT}" '
                         f'text-anchor="middle">{escape(str(label))}</text>')
    return _frame(title, "".join(parts), unit)


def line_chart(labels: list[str], values: list[float], *, title: str, unit: str = "") -> Markup:
    """A series over time, with its first and last dates, the value axis and the last value marked."""
    if not values:
        return Markup("")
    low, high = min(min(values), 0), max(max(values), 1)
    span = high - low or 1
    n = len(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(n - 1, 1)
    coords = [(LEFT + i * step, HEIGHT - BOTTOM - plot_h * (v - low) / span) for i, v in enumerate(values)]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    last_x, last_y = coords[-1]
    body = (
        _y_ticks(low, high, all(float(v).is_integer() for v in values))
        + f'<polyline points="{points}" fill="none" stroke="#b71c1c" stroke-width="2.5"/>'
        + f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="4" fill="#b71c1c">'
        f"<title>{escape(labels[-1])}: {escape(with_unit(values[-1], unit))}</title></circle>"
        + f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="{FONT}">{escape(labels[0])}</text>'
        + f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" font-size="{FONT}" text-anchor="end">{escape(labels[-1])}</text>'
    )
    return _frame(title, body, unit)


def bar_list(labels: list[str], values: list[float], *, title: str, unit: str = "", highlight: int | None = None,
             limit: int = 20, maximum: float | None = None) -> Markup:
    """Horizontal bars for named things, as an HTML list: the whole label (it wraps), the value with
    its unit, a bar scaled to ``maximum`` (the largest value when not given).  At most ``limit`` rows,
    with a line saying how many more there are."""
    if not values:
        return Markup("")
    top = maximum if maximum is not None else max(max(values), 1)
    rows = []
    for i, (label, value) in enumerate(list(zip(labels, values))[:limit]):
        rows.append(
            f'<li class="bar-row{" is-highlight" if i == highlight else ""}">'
            f'<span class="bar-label">{escape(str(label))}</span>'
            f'<span class="bar-value">{escape(with_unit(value, unit))}</span>'
            f'<progress max="{top:g}" value="{max(min(value, top), 0):g}" aria-hidden="true"></progress></li>'
        )
    more = len(values) - limit
    tail = ""
    if more > 0:
        note = _("%(n)d more not shown", n=more)
        tail = f'<p class="muted small">{escape(note)}</p>'
    return Markup(f'<figure class="bar-list" aria-label="{escape(title)}"><ol>{"".join(rows)}</ol>{tail}</figure>')


def histogram(values: list[int], bins: int = 10) -> tuple[list[str], list[int]]:
    """Counts of whole-number values in at most ``bins`` equal bins of a whole width, labelled by
    their lower bound (with a width of 1, each label is the value itself)."""
    return histogram_of_counts(Counter(values), bins)


def histogram_of_counts(counts_of: dict[int, int], bins: int = 10) -> tuple[list[str], list[int]]:
    """:func:`histogram` of values already counted ({value: how many}), e.g. by a SQL GROUP BY."""
    present = [v for v, n in counts_of.items() if n]
    if not present:
        return [], []
    low, high = min(present), max(present)
    width = max(math.ceil((high - low + 1) / bins), 1)
    used = (high - low) // width + 1
    counts = [0] * used
    for v in present:
        counts[(v - low) // width] += counts_of[v]
    return [str(low + i * width) for i in range(used)], counts
