from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.db.models import Count, IntegerField, Min, Q
from django.db.models.functions import Cast
from django.urls import URLPattern, URLResolver, get_resolver

from .models import SignalRecord
from .services import BUCKETS_MS, KEY, route_key

UNMATCHED = "(no route)"


@dataclass(frozen=True)
class RouteStats:
    route: str
    count: int
    mean_ms: float
    p50_ms: float  # the upper bound of the bucket the median falls in
    p95_ms: float


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
    routes = [*dict.fromkeys(_routes()), UNMATCHED]
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


@dataclass
class Step:
    record: SignalRecord
    children: list["Step"]


def timeline_chains(
    *, signal: str = "", receiver: str = "", outcome: str = "", subject: str = "", committed: str = "", limit: int = 50
) -> list[ChainSummary]:
    """The latest chains with a step matching every filter given, newest first."""
    matching = SignalRecord.objects.all()
    if signal:
        matching = matching.filter(kind=SignalRecord.Kind.SIGNAL, name__icontains=signal)
    if receiver:
        matching = matching.filter(kind=SignalRecord.Kind.RECEIVER, name__icontains=receiver)
    if outcome:
        matching = matching.filter(outcome=outcome)
    if subject:
        matching = matching.filter(subject=subject)
    if committed in {"yes", "no"}:
        matching = matching.filter(committed=committed == "yes")
    chains = (
        SignalRecord.objects.filter(chain__in=matching.values("chain"))
        .values("chain")
        .annotate(
            started=Min("created_at"),
            steps=Count("id"),
            errors=Count("id", filter=Q(outcome="error")),
            all_committed=Min(Cast("committed", IntegerField())),
            cause=Min("cause"),
        )
        .order_by("-started")[:limit]
    )
    summaries = list(chains)
    tops: dict[str, list[str]] = {}
    for chain, name in (
        SignalRecord.objects.filter(chain__in=[c["chain"] for c in summaries], parent__isnull=True)
        .order_by("seq")
        .values_list("chain", "name")
    ):
        tops.setdefault(str(chain), []).append(name)
    return [
        ChainSummary(
            chain=str(c["chain"]),
            cause=c["cause"],
            started=c["started"],
            steps=c["steps"],
            errors=c["errors"],
            committed=bool(c["all_committed"]),
            signals=", ".join(dict.fromkeys(tops.get(str(c["chain"]), []))),
        )
        for c in summaries
    ]


def timeline_chain(*, chain: str) -> list[Step]:
    """One chain as a tree: its top-level signals, each with what it called, in order."""
    steps = {record.seq: Step(record, []) for record in SignalRecord.objects.filter(chain=chain).order_by("seq")}
    roots: list[Step] = []
    for step in steps.values():
        parent = steps.get(step.record.parent) if step.record.parent is not None else None
        (parent.children if parent else roots).append(step)
    return roots
