"""Server-rendered SVG line charts: no JavaScript library, nothing fetched from a CDN."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD = 640, 220, 36


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | int | float]
    css_class: str


def line_chart(*, labels: Sequence[date | datetime], series: Sequence[Series], title: str) -> SafeString:
    """Return an inline SVG with one polyline per series, each scaled to its own maximum.

    Each series gets its own scale so that a count (tens) and a value (millions) are both
    readable on one chart; the legend states each series' maximum.
    """
    if not labels:
        return format_html('<p class="muted">{}</p>', "No data yet.")
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)
    lines = []
    dots = []
    legend = []
    for index, one in enumerate(series):
        top = max((float(v) for v in one.values), default=0.0) or 1.0
        xy = [
            (f"{PAD + i * step:.1f}", f"{HEIGHT - PAD - (float(v) / top) * (HEIGHT - 2 * PAD):.1f}")
            for i, v in enumerate(one.values)
        ]
        lines.append((one.css_class, " ".join(f"{x},{y}" for x, y in xy)))
        # A lone point draws no line, so every point also gets a dot.
        dots += [(one.css_class, x, y) for x, y in xy]
        legend.append((one.css_class, PAD + index * 220, one.label, f"{top:,.0f}"))
    first, last = labels[0], labels[-1]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{title}">'
        '<line class="axis" x1="{pad}" y1="{base}" x2="{right}" y2="{base}"/>'
        "{lines}{dots}{legend}"
        '<text class="tick" x="{pad}" y="{label_y}">{first}</text>'
        '<text class="tick" x="{right}" y="{label_y}" text-anchor="end">{last}</text>'
        "</svg>",
        w=WIDTH,
        h=HEIGHT,
        title=title,
        pad=PAD,
        right=WIDTH - PAD,
        base=HEIGHT - PAD,
        label_y=HEIGHT - 12,
        lines=format_html_join("", '<polyline class="line {}" points="{}"/>', lines),
        dots=format_html_join("", '<circle class="dot {}" cx="{}" cy="{}" r="3"/>', dots),
        legend=format_html_join("", '<text class="legend {}" x="{}" y="18">{} (max {})</text>', legend),
        first=f"{first:%Y-%m-%d}",
        last=f"{last:%Y-%m-%d %H:%M}" if isinstance(last, datetime) else f"{last:%Y-%m-%d}",
    )
