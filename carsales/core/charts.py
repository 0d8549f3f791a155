"""Server-rendered SVG line charts: no JavaScript library, nothing fetched from a CDN."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from carsales.core.money import format_money

WIDTH, HEIGHT, PAD = 640, 220, 36
FEW_POINTS = 12


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | int | float]
    css_class: str
    money: bool = False  # its maximum said as a price


def line_chart(*, labels: Sequence[date | datetime], series: Sequence[Series], title: str) -> SafeString:
    """Return an inline SVG with one polyline per series, each scaled to its own maximum.

    Each series gets its own scale so that a count (tens) and a value (millions) are both
    readable on one chart; the legend states each series' maximum. Points stand at their time
    (a burst of changes takes the width it took, a quiet week its own). A lone point sits in the
    middle; the second series' points are rings around the first's, and its line dashed over the
    first's, which they often cover.
    """
    if not labels:
        return format_html('<p class="muted">{}</p>', "No data yet.")
    xs = _positions(labels)
    lines = []
    dots = []
    legend = []
    for index, one in enumerate(series):
        most = max((float(v) for v in one.values), default=0.0)
        top = most or 1.0  # all zero: drawn along the bottom
        xy = [
            (f"{x:.1f}", f"{HEIGHT - PAD - (float(v) / top) * (HEIGHT - 2 * PAD):.1f}")
            for x, v in zip(xs, one.values, strict=True)
        ]
        # A later series dashed over the first, which its own scale often draws the same.
        lines.append((f"{one.css_class} over" if index else one.css_class, " ".join(f"{x},{y}" for x, y in xy)))
        # A lone point draws no line: a few points get dots; many, the line alone (dots would crowd it).
        if len(xy) <= FEW_POINTS:
            shape = ("dot", 3) if index == 0 else ("dot ring", 6)
            dots += [(f"{shape[0]} {one.css_class}", x, y, shape[1]) for x, y in xy]
        said = format_money(most) if one.money else f"{most:,.0f}"
        legend.append((one.css_class, PAD + index * 220, one.label, said))
    first, last = (_tick(label) for label in (min(labels), max(labels)))  # type: ignore[type-var]
    ends: list[tuple[float, str, str]] = [(PAD, "start", first), (WIDTH - PAD, "end", last)]
    ticks = ends if first != last else [(WIDTH / 2, "middle", first)]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{title}">'
        '<line class="axis" x1="{pad}" y1="{base}" x2="{right}" y2="{base}"/>'
        "{lines}{dots}{legend}{ticks}"
        "</svg>",
        w=WIDTH,
        h=HEIGHT,
        title=title,
        pad=PAD,
        right=WIDTH - PAD,
        base=HEIGHT - PAD,
        lines=format_html_join("", '<polyline class="line {}" points="{}"/>', lines),
        dots=format_html_join("", '<circle class="{}" cx="{}" cy="{}" r="{}"/>', dots),
        legend=format_html_join("", '<text class="legend {}" x="{}" y="18">{} (max {})</text>', legend),
        ticks=format_html_join(
            "",
            '<text class="tick" x="{}" y="{}" text-anchor="{}">{}</text>',
            [(x, HEIGHT - 12, a, t) for x, a, t in ticks],
        ),
    )


def _positions(labels: Sequence[date | datetime]) -> list[float]:
    """Each label's x: by its time between the earliest and the latest, in whatever order they
    come; all at one time, spread evenly (a lone one in the middle)."""
    moments = [label.timestamp() if isinstance(label, datetime) else label.toordinal() * 86400.0 for label in labels]
    earliest = min(moments)
    span = max(moments) - earliest
    if span <= 0:
        return [
            WIDTH / 2 if len(labels) == 1 else PAD + i * (WIDTH - 2 * PAD) / (len(labels) - 1)
            for i in range(len(labels))
        ]
    return [PAD + (moment - earliest) / span * (WIDTH - 2 * PAD) for moment in moments]


def _tick(label: date | datetime) -> str:
    """A label in the site's format (a day, or a moment with its zone)."""
    if isinstance(label, datetime):
        return date_format(timezone.localtime(label), "DATETIME_FORMAT")  # in the zone the pages show
    return date_format(label, "DATE_FORMAT")
