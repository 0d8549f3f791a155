"""Search that forgives: brand aliases, a year among the words, typos, staff identifiers.

A query is matched word by word (each word in the brand or the model, or naming the car's fuel,
gearbox, body or colour). Only when a word is
in no brand or model and the query as typed finds nothing are such words corrected to the
nearest known word ("hnda" → "honda"); a correction that still finds nothing becomes a
suggestion. The known words are cached, so the common case costs what a plain filter costs and
a correction one query more, at any stock size (`make bench`).
"""

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.db.models.lookups import Exact

from .models import (
    FIRST_CAR_YEAR,
    Body,
    Brand,
    Car,
    Fuel,
    PlateBare,
    Transmission,
    VinGiven,
    folded,
    next_year,
    plate_as_stored,
    plate_bare,
)
from .vocabulary import VOCABULARY_KEY

# What buyers type for a brand; the brand's own name is always understood too.
BRAND_ALIASES = {
    "vw": "volkswagen",
    "chevy": "chevrolet",
    "merc": "mercedes",
    "benz": "mercedes",
    "bimmer": "bmw",
    "beemer": "bmw",
    "alfa": "alfa romeo",
    "landie": "land rover",
}

# What buyers type for what a car is beyond its brand and model ("golf diesel", "suv", "red"):
# each word names values of a vehicle fact. A car's colour is free text: a colour word is looked
# for in it.
_FACT_WORDS: dict[str, Q] = {
    **dict.fromkeys(("petrol", "gas", "gasoline"), Q(fuel=Fuel.PETROL)),
    "diesel": Q(fuel=Fuel.DIESEL),
    "hybrid": Q(fuel__in=[Fuel.HYBRID, Fuel.PLUGIN_HYBRID]),
    **dict.fromkeys(("plug-in", "plugin", "phev"), Q(fuel=Fuel.PLUGIN_HYBRID)),
    **dict.fromkeys(("electric", "ev"), Q(fuel=Fuel.ELECTRIC)),
    "lpg": Q(fuel=Fuel.LPG),
    "manual": Q(transmission=Transmission.MANUAL),
    **dict.fromkeys(("automatic", "auto"), Q(transmission=Transmission.AUTOMATIC)),
    **dict.fromkeys(("sedan", "saloon"), Q(body=Body.SEDAN)),
    **dict.fromkeys(("hatchback", "hatch"), Q(body=Body.HATCHBACK)),
    **dict.fromkeys(("estate", "wagon"), Q(body=Body.ESTATE)),
    **dict.fromkeys(("suv", "4x4"), Q(body=Body.SUV)),
    **dict.fromkeys(("coupe", "coupé"), Q(body=Body.COUPE)),
    **dict.fromkeys(("convertible", "cabrio", "cabriolet"), Q(body=Body.CONVERTIBLE)),
    "van": Q(body=Body.VAN),
    **dict.fromkeys(("pickup", "pick-up", "truck"), Q(body=Body.PICKUP)),
    **{
        colour: Q(colour__icontains=colour)
        for colour in ("white", "black", "silver", "red", "blue", "green", "yellow", "orange", "brown", "beige", "gold")
    },
    **dict.fromkeys(("grey", "gray"), Q(colour__icontains="grey") | Q(colour__icontains="gray")),
}
_PUNCTUATION = ".,;:!?()\"'"
# Words saying what every car listed is: no condition ("used car" is every car, "red car" red ones).
_SAID_OF_EVERY_CAR = frozenset({"car", "cars", "used", "vehicle", "vehicles"})
VOCABULARY_SECONDS = 600
CORRECTION_CUTOFF = 0.7  # difflib ratio: "hnda"/"honda" is 0.89, "golf"/"polo" 0.5
SUGGESTION_CUTOFF = 0.5


@dataclass
class SearchOutcome:
    """How a query was understood, for the page to say so."""

    typed: str = ""
    understood: str = ""  # the words as matched, when a correction was made
    suggestion: str = ""  # a query that was probably meant, when nothing matched
    corrections: dict[str, str] = field(default_factory=dict)
    # Read only by a page that found nothing (its counts cost a query a word): see alone.
    _each_alone: Callable[[], list[tuple[str, int]]] = field(default=list, repr=False, compare=False)

    @cached_property
    def alone(self) -> list[tuple[str, int]]:
        """The words of a query of known words finding no car together, each with the cars it
        finds alone ("red suv": no red SUV, but red cars and SUVs); none left out."""
        return self._each_alone()


def _expanded(words: list[str]) -> list[str]:
    return [BRAND_ALIASES.get(word, word) for word in words]


def _is_year(word: str) -> bool:
    # isascii: "²⁰²²" is digits to str.isdigit() but not to int().
    return word.isascii() and word.isdigit() and len(word) == 4 and FIRST_CAR_YEAR <= int(word) <= next_year()


def _condition(word: str, *, staff: bool) -> Q:
    fact = _FACT_WORDS.get(word) or _FACT_WORDS.get(folded(word))  # "éV" is "ev", as brands are folded
    if fact is not None:  # that fact only: "ev" is no part of Chevrolet, nor "van" of Caravan
        return fact
    condition = Q(model__icontains=word) | Q(brand__folded_name__icontains=folded(word))
    # A year ("golf 2022") is a model year, unless a model is named so (the Peugeot 2008).
    if _is_year(word):
        condition |= Q(model_year=int(word))
    if staff:
        condition |= identified_by(word)
    else:  # a stock code is on the car's page, the cart and the emails: anyone may search by it
        condition |= Q(stock_code=word.upper()) if word.isascii() else Q()  # "ß" is no SS
    return condition


def identified_by(text: str) -> Q:
    """The car whose stock code, plate or VIN `text` is, as staff type them: any case, a plate
    spaced or dashed on either side. A whole query of several words ("AB12 CDE") may be one.

    Only text that may be a plate (letters and digits, five or more) is compared with the plates
    bare (PlateBare, read from its index); "m7" or "2022" is not.
    """
    bare = plate_bare(text)
    named = Q(stock_code=bare) | (Q(vin=bare) & Q(VinGiven("vin"))) | Q(plate=plate_as_stored(text))
    plate_like = len(bare) >= 5 and any(c.isdigit() for c in bare) and any(c.isalpha() for c in bare)
    return named | Q(Exact(PlateBare("plate"), bare)) if plate_like else named


def _matched(cars: QuerySet[Car], words: list[str], *, staff: bool) -> QuerySet[Car]:
    for word in words:
        cars = cars.filter(_condition(word, staff=staff))
    return cars


def _vocabulary() -> set[str]:
    """Every word of a brand name (folded: "skoda") or a model (in lower case: "doblò", "cr-v").

    Cached: reading the distinct models of 100,000 cars costs 200 ms on SQLite. A new brand or
    model forgets it (search_vocabulary_forget); the timeout bounds what a missed forget costs.
    """
    vocabulary = cache.get(VOCABULARY_KEY)
    if vocabulary is None:
        brands = Brand.objects.values_list("folded_name", flat=True)
        models = Car.objects.values_list("model", flat=True).distinct()
        vocabulary = {word for name in [*brands, *(model.casefold() for model in models)] for word in name.split()}
        cache.set(VOCABULARY_KEY, vocabulary, VOCABULARY_SECONDS)
    return vocabulary


def _known(word: str, vocabulary: set[str]) -> bool:
    return _is_year(word) or folded(word) in _FACT_WORDS or any(word in known for known in vocabulary)


def _nearest(word: str, vocabulary: set[str], cutoff: float) -> str | None:
    if _known(word, vocabulary):
        return None
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff)
    return close[0] if close else None


def _suggested(word: str, vocabulary: set[str]) -> str | None:
    """A looser guess than a correction, among the known words that begin as `word` does: a
    buyer seldom mistypes the first letter, and at this distance "skoda" is as near "honda" as
    "dobo" is "doblò"."""
    start = folded(word[:1])
    return _nearest(word, {known for known in vocabulary if folded(known[:1]) == start}, SUGGESTION_CUTOFF)


def _completed(word: str, vocabulary: set[str]) -> str | None:
    """A word typed short of a known one ("hond") as the shortest it begins ("honda"): what a
    suggestion says, which would otherwise keep the stub beside a word it corrects."""
    if _is_year(word) or word in vocabulary:
        return None
    return min(
        (known for known in vocabulary if known.startswith(word)), key=lambda known: (len(known), known), default=None
    )


def _each_alone(cars: QuerySet[Car], typed: list[str], *, staff: bool) -> list[tuple[str, int]]:
    """Each word of a query of several finding nothing together, with how many cars it finds alone
    (none: left out). A query of one word has no other to drop."""
    words = list(dict.fromkeys(typed))
    if len(words) < 2:
        return []
    counted = [(word, _matched(cars, _expanded([word])[0].split(), staff=staff).count()) for word in words]
    return [(word, count) for word, count in counted if count]


def car_search(cars: QuerySet[Car], query: str, *, staff: bool) -> tuple[QuerySet[Car], SearchOutcome]:
    """`cars` matching `query`, forgiving typos and aliases, and how the query was understood."""
    # A word's punctuation as typed in a sentence ("golf, diesel.") is no part of it.
    typed = [
        stripped
        for word in query.split()
        if (stripped := word.casefold().strip(_PUNCTUATION)) and stripped not in _SAID_OF_EVERY_CAR
    ]
    words = " ".join(_expanded(typed)).split()
    outcome = SearchOutcome(typed=query)
    vocabulary = _vocabulary() if typed else set()
    if staff and typed and not all(_known(word, vocabulary) for word in typed):
        # The car a staff query names by its papers, found from indexes before any word is matched
        # by reading every car (a stock code: 200 ms at 100,000 cars on SQLite, 1 ms this way). Not
        # for brands, models and years: "golf" finds every Golf, the car plated GOLF among them.
        named = cars.filter(identified_by(query))
        if named.exists():
            return named, outcome
    found = _matched(cars, words, staff=staff)
    if not words:
        return found, outcome
    # A word no brand or model contains may still be a stock code, a plate or an odd match:
    # corrected only when the words as typed find nothing.
    if all(_known(word, vocabulary) for word in words):
        outcome._each_alone = partial(_each_alone, cars, typed, staff=staff)
        return found, outcome
    if found.exists():
        return found, outcome
    corrected = [_nearest(word, vocabulary, CORRECTION_CUTOFF) or word for word in words]
    if corrected != words:
        outcome.corrections = {old: new for old, new in zip(words, corrected, strict=True) if old != new}
        found = _matched(cars, corrected, staff=staff)
        if found.exists():
            outcome.understood = " ".join(corrected)
            return found, outcome
    looser = [_suggested(word, vocabulary) or _completed(word, vocabulary) or word for word in corrected]
    # Offered only when it finds a car: a suggestion leading to no result is a dead end.
    if looser != words and _matched(cars, looser, staff=staff).exists():
        outcome.suggestion = " ".join(looser)
    return found, outcome
