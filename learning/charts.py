"""Small charts drawn on the server as inline SVG: no JavaScript library, nothing from a CDN,
readable on a phone and printable.  Each function returns markup safe to embed."""
from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 600, 220, 32


def bar_chart(labels: list[str], values: list[float], *, title: str, highlight: int | None = None) -> Markup:
    """Vertical bars with their values, for a distribution or a comparison of a few items."""
    if not values:
        return Markup("")
    top = max(max(values), 1)
    n = len(values)
    slot = (WIDTH - 2 * PAD) / n
    bars = []
    for i, (label, value) in enumerate(zip(labels, values)):
        h = (HEIGHT - 2 * PAD) * max(value, 0) / top
        x = PAD + i * slot + slot * 0.1
        y = HEIGHT - PAD - h
        colour = "#b71c1c" if i == highlight else "#e57373"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {value:g}</title></rect>"
        )
        if n <= 24:
            bars.append(f'<text x="{x + slot * 0.4:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{value:g}</text>')
            bars.append(
                f'<text x="{x + slot * 0.4:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" text-anchor="middle">'
                f"{escape(label[:8])}</text>"
            )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        + "".join(bars)
        + "</svg>"
    )


def line_chart(labels: list[str], values: list[float], *, title: str) -> Markup:
    """A cumulative or daily series over time, with the first and last dates marked."""
    if not values:
        return Markup("")
    low, high = min(min(values), 0), max(max(values), 1)
    span = high - low or 1
    n = len(values)
    step = (WIDTH - 2 * PAD) / max(n - 1, 1)
    points = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - low) / span:.1f}" for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<polyline points="{points}" fill="none" stroke="#b71c1c" stroke-width="2.5"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{escape(labels[0])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{escape(labels[-1])}</text>'
        f'<text x="{WIDTH - PAD}" y="{PAD - 8}" font-size="12" text-anchor="end">{values[-1]:g}</text>'
        "</svg>"
    )


def histogram(values: list[int], bins: int = 10) -> tuple[list[str], list[int]]:
    """Counts of values in equal-width bins, labelled by their lower bound."""
    if not values:
        return [], []
    low, high = min(values), max(values)
    width = max((high - low) / bins, 1)
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    labels = [f"{low + i * width:.0f}" for i in range(bins)]
    return labels, counts
