"""Sales texts for cars: a pluggable writer, chosen by the CARSALES_BIO_WRITER setting.

The default writer works offline from the car's own fields. The text is written once and kept
(staff may rewrite it), so it must not repeat anything that changes and is shown beside it: the
price above all, which is why no writer is given it. An HTTP language-model writer can
be configured instead; whatever it does — fail, hang, return nothing — `write_bio` bounds it
with CARSALES_BIO_WRITER_TIMEOUT and falls back to the default, so a save is never blocked
for long nor broken by the writer.
"""

import json
import logging
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import Car

logger = logging.getLogger(__name__)

MAX_BIO_LENGTH = 600

# One shared thread lets a hung writer be abandoned without holding up the save that asked.
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bio-writer")


@dataclass(frozen=True)
class CarFacts:
    """What a writer may know of a car: plain values, so a writer thread never touches the ORM.

    Only what the car is, never what it costs: a stored text would go stale with the price.
    """

    brand: str
    model: str
    factory_year: int
    model_year: int

    @classmethod
    def of(cls, car: "Car") -> "CarFacts":
        return cls(car.brand.name, car.model, car.factory_year, car.model_year)


class BioWriter(Protocol):
    def write(self, car: CarFacts) -> str: ...


class TemplateBioWriter:
    """Writes a short sales text from the car's fields; no network, always succeeds."""

    def write(self, car: CarFacts) -> str:
        age = "nearly new" if car.model_year >= date.today().year - 1 else "well-kept"
        # The build year only where it tells something the model year does not.
        built = f", built in {car.factory_year}" if car.factory_year != car.model_year else ""
        return (
            f"A {age} {car.model_year} {car.brand} {car.model}{built}, "
            "inspected and ready to drive away. Ask us for a test drive."
        )


class HttpLLMBioWriter:
    """Asks an OpenAI-compatible chat endpoint (CARSALES_LLM_URL) for the text."""

    def write(self, car: CarFacts) -> str:
        prompt = (
            f"Write two enthusiastic sentences selling a {car.model_year} {car.brand} "
            f"{car.model} built in {car.factory_year}. Do not mention any price, discount or "
            "mileage: the text is kept while those change."
        )
        body = json.dumps(
            {"model": settings.CARSALES_LLM_MODEL, "messages": [{"role": "user", "content": prompt}]}
        ).encode()
        request = urllib.request.Request(
            settings.CARSALES_LLM_URL, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=settings.CARSALES_BIO_WRITER_TIMEOUT) as response:
            payload = json.load(response)
        return str(payload["choices"][0]["message"]["content"]).strip()


def write_bio(car: "Car") -> str:
    """Return a sales text for `car` from the configured writer, or the default one.

    Never raises and never waits longer than CARSALES_BIO_WRITER_TIMEOUT seconds for the
    configured writer; a failure or an empty answer is logged and replaced by the default text.
    """
    facts = CarFacts.of(car)
    fallback = TemplateBioWriter()
    writer: BioWriter = import_string(settings.CARSALES_BIO_WRITER)()
    if isinstance(writer, TemplateBioWriter):
        return fallback.write(facts)
    future = _executor.submit(writer.write, facts)
    try:
        text = future.result(timeout=settings.CARSALES_BIO_WRITER_TIMEOUT)
    except FutureTimeout:
        logger.warning("Bio writer %s timed out for car %s; using the default text", writer, car.plate)
        return fallback.write(facts)
    except Exception:
        logger.exception("Bio writer %s failed for car %s; using the default text", writer, car.plate)
        return fallback.write(facts)
    return text[:MAX_BIO_LENGTH] if text else fallback.write(facts)
