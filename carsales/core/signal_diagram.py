"""The signal map drawn as a diagram, server-side SVG: sending app → signal → receiving app.

A model signal is drawn once per sender model ("post_save · catalog.Car"), since which model
saves decides who reacts. Edges to a receiving app are dashed when every receiver of that app
on that signal is durable (runs after commit, in a worker). Each signal links to its sends on
the signal timeline.
"""

from dataclasses import dataclass
from urllib.parse import quote

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .signal_map import SignalInfo

ROW, COLUMN_X, BOX_W, BOX_H, PAD = 30, (10, 330, 650), 240, 22, 10


@dataclass(frozen=True)
class _Node:
    key: str
    label: str
    anchor: str = ""


def _edges(infos: list[SignalInfo]) -> tuple[set[tuple[str, str]], dict[tuple[str, str], bool], list[_Node]]:
    """(sender app, signal node) edges; (signal node, receiving app) -> durable only; signal nodes."""
    timeline = reverse("observability:timeline")
    sent: set[tuple[str, str]] = set()
    received: dict[tuple[str, str], bool] = {}
    signals: dict[str, _Node] = {}
    for info in infos:
        short = info.name.rsplit(".", 1)[-1]
        for connection in info.connections:
            if not connection.app:
                continue  # only what carsales receives
            if info.kind == "model":
                key, sender_app = f"{short} · {connection.sender}", connection.sender.split(".")[0]
            else:
                key, sender_app = short, info.app or "django"
            # Each signal leads to its sends on the timeline.
            signals.setdefault(key, _Node(key, key, f"{timeline}?signal={quote(short)}"))
            sent.add((sender_app, key))
            edge = (key, connection.app)
            received[edge] = received.get(edge, True) and connection.mode == "durable"
    return sent, received, sorted(signals.values(), key=lambda node: node.key)


def signal_diagram(infos: list[SignalInfo]) -> SafeString:
    sent, received, signal_nodes = _edges(infos)
    senders = sorted({app for app, _ in sent})
    receivers = sorted({app for _, app in received})
    rows = max(len(senders), len(signal_nodes), len(receivers), 1)
    height = rows * ROW + 2 * PAD
    y_of: dict[tuple[int, str], float] = {}
    for column, keys in enumerate((senders, [node.key for node in signal_nodes], receivers)):
        offset = (rows - len(keys)) * ROW / 2  # centre shorter columns
        for index, key in enumerate(keys):
            y_of[(column, key)] = PAD + offset + index * ROW

    def box(column: int, key: str, label: str, anchor: str = "") -> tuple[str, ...]:
        x, y = COLUMN_X[column], y_of[(column, key)]
        return (f"{x}", f"{y:.0f}", f"{BOX_W}", f"{BOX_H}", f"{x + 8}", f"{y + 15:.0f}", label, anchor)

    def line(left: tuple[int, str], right: tuple[int, str], css: str) -> tuple[str, ...]:
        x1, x2 = COLUMN_X[left[0]] + BOX_W, COLUMN_X[right[0]]
        y1, y2 = y_of[left] + BOX_H / 2, y_of[right] + BOX_H / 2
        return (css, f"{x1}", f"{y1:.0f}", f"{x2}", f"{y2:.0f}")

    lines = [line((0, app), (1, key), "edge") for app, key in sorted(sent)]
    lines += [
        line((1, key), (2, app), "edge durable" if durable else "edge")
        for (key, app), durable in sorted(received.items())
    ]
    app_boxes = [box(0, app, app) for app in senders] + [box(2, app, app) for app in receivers]
    signal_boxes = [box(1, node.key, node.label, node.anchor) for node in signal_nodes]
    return format_html(
        '<svg class="signal-diagram" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="group" '
        'aria-label="Which app sends which signal, and which apps receive it">{lines}{apps}{signals}</svg>',
        w=COLUMN_X[2] + BOX_W + PAD,
        h=height,
        lines=format_html_join("", '<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}"/>', lines),
        apps=format_html_join(
            "",
            '<g class="app"><rect x="{}" y="{}" width="{}" height="{}" rx="4"/><text x="{}" y="{}">{}</text></g>',
            ((x, y, w, h, tx, ty, label) for x, y, w, h, tx, ty, label, _ in app_boxes),
        ),
        signals=format_html_join(
            "",
            '<a href="{7}"><g class="signal"><rect x="{0}" y="{1}" width="{2}" height="{3}" rx="11"/>'
            '<text x="{4}" y="{5}">{6}</text></g></a>',
            signal_boxes,
        ),
    )
