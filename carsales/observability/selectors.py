import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver

from .models import SignalChain
from .services import BUCKETS_MS, KEY, route_key

UNMATCHED = "(no route)"


def static_files_route() -> str:
    """The route static files are counted under: WhiteNoise serves them before any URL is resolved."""
    return settings.STATIC_URL.strip("/") + "/<path>"


@dataclass(frozen=True)
class RouteStats:
    route: str
    count: int
    mean_ms: float
    p50_ms: float  # the upper bound of the bucket the median falls in
    p95_ms: float

    @property
    def matched(self) -> bool:
        return self.route != UNMATCHED

    @property
    def shown(self) -> str:
        """The route as staff read it: its address, each part that varies by its name; a regular
        expression's too (/media/<path>)."""
        if not self.matched:
            return "no page: an address no route matches (a 404)"
        return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", self.route).replace("^", "").replace("$", "")


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    routes = []
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern, text)
        elif isinstance(pattern, URLPattern):
            routes.append(text)
    return routes


def _percentile(buckets: list[int], share: float) -> float:
    wanted, seen = share * sum(buckets), 0
    for bound, count in zip(BUCKETS_MS, buckets, strict=True):
        seen += count
        if seen >= wanted:
            return bound
    return BUCKETS_MS[-1]


def request_stats() -> tuple[list[RouteStats], datetime | None]:
    """Requests per route since counting began (busiest first), and when it began."""
    routes = [*dict.fromkeys(_routes()), static_files_route(), UNMATCHED]
    keys = [route_key(route, part) for route in routes for part in [*range(len(BUCKETS_MS)), "total_us"]]
    stored = cache.get_many([*keys, f"{KEY}:since"])
    stats = []
    for route in routes:
        buckets = [int(stored.get(route_key(route, index), 0)) for index in range(len(BUCKETS_MS))]
        count = sum(buckets)
        if count:
            mean = stored.get(route_key(route, "total_us"), 0) / 1000 / count
            stats.append(RouteStats(route, count, mean, _percentile(buckets, 0.5), _percentile(buckets, 0.95)))
    since = stored.get(f"{KEY}:since")
    return sorted(stats, key=lambda s: -s.count), datetime.fromtimestamp(since, UTC) if since else None


@dataclass(frozen=True)
class ChainSummary:
    chain: str
    cause: str
    started: datetime
    steps: int
    errors: int
    committed: bool
    signals: str  # the top-level signals, in order


@dataclass(frozen=True)
class StepRecord:
    seq: int
    parent: int | None
    kind: str  # "signal" or "receiver"
    name: str
    detail: str
    subject: str
    ms: float
    outcome: str
    traceback: str
    committed: bool


@dataclass
class Step:
    record: StepRecord
    children: list["Step"]


def timeline_chains(
    *,
    signal: str = "",
    receiver: str = "",
    app: str = "",
    outcome: str = "",
    subject: str = "",
    committed: str = "",
    since: datetime | None = None,
    limit: int = 50,
) -> list[ChainSummary]:
    """The latest chains matching every filter given, newest first (one query). `app` keeps the
    chains in which one of that app's receivers ran; `since`, those that began then or later."""
    chains = SignalChain.objects.all()
    if app:
        chains = chains.filter(names__contains=f"\ncarsales.{app}.")
    if since is not None:
        chains = chains.filter(started_at__gte=since)
    for name in (signal, receiver):
        if name:
            chains = chains.filter(names__icontains=name)
    if outcome == "error":
        chains = chains.filter(errors__gt=0)
    elif outcome == "ok":
        chains = chains.filter(errors=0)
    if subject:
        chains = chains.filter(subjects__contains=f"\n{subject}\n")
    if committed in {"yes", "no"}:
        chains = chains.filter(committed=committed == "yes")
    return [
        ChainSummary(
            chain=str(chain.chain),
            cause=chain.cause,
            started=chain.started_at,
            steps=len(chain.steps),
            errors=chain.errors,
            committed=chain.committed,
            signals=", ".join(dict.fromkeys(step["name"] for step in chain.steps if step["parent"] is None)),
        )
        for chain in chains[:limit]
    ]


def timeline_chain(*, chain: str) -> list[Step]:
    """One chain as a tree: its top-level signals, each with what it called, in order."""
    return timeline_chain_with_cause(chain=chain)[1]


def timeline_chain_with_cause(*, chain: str) -> tuple[str, list[Step]]:
    """What caused the chain, and the chain as a tree ("" and [] when there is no such chain)."""
    cause, stored = SignalChain.objects.filter(chain=chain).values_list("cause", "steps").first() or ("", [])
    steps = {item["seq"]: Step(StepRecord(**item), []) for item in stored}
    roots: list[Step] = []
    for step in steps.values():
        parent = steps.get(step.record.parent) if step.record.parent is not None else None
        (parent.children if parent else roots).append(step)
    return cause, roots
