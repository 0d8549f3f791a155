from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver

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
