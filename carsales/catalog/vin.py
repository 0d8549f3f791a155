"""Vehicle identification numbers (ISO 3779): the checks every VIN passes, and its decoding."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from vininfo import Vin
from vininfo.exceptions import ValidationError as VinFormatError

VIN_LENGTH = 17
# \A and \Z, not ^ and $: a REGEXP (SQLite, Python search) lets $ match before a final newline.
VIN_PATTERN = r"\A[A-HJ-NPR-Z0-9]{17}\Z"
# The check digit (9th character) is mandatory in North America (WMI 1-5) and China (L); elsewhere
# makers may use that position freely, so a "wrong" digit there proves nothing.
CHECK_DIGIT_REGIONS = frozenset("12345L")


def vin_normalise(vin: str) -> str:
    """A VIN as stored: no spaces, upper case (people type "wvw zzz...")."""
    return "".join(vin.split()).upper()


def validate_vin(vin: str) -> None:
    """Refuse a VIN that cannot be one, saying why; an empty VIN (not known yet) is fine."""
    if not vin:
        return
    if len(vin) != VIN_LENGTH:
        raise ValidationError(f"A VIN has {VIN_LENGTH} characters; this one has {len(vin)}.", code="vin_length")
    wrong = sorted({char for char in vin if char in "IOQ"})
    if wrong:
        raise ValidationError(
            f"A VIN never contains the letters I, O or Q (they read as 1 and 0): found {', '.join(wrong)}.",
            code="vin_letters",
        )
    try:
        decoded = Vin(vin)
    except VinFormatError:
        raise ValidationError("A VIN has only letters and digits.", code="vin_characters")
    if vin[0] in CHECK_DIGIT_REGIONS and not decoded.verify_checksum(check_year=False):
        raise ValidationError(
            f"The check digit (9th character, {vin[8]}) does not match the rest of the VIN: a character was "
            "probably mistyped.",
            code="vin_check_digit",
        )


@dataclass(frozen=True)
class VinFacts:
    """What a VIN says of its car, offline; empty values where it says nothing."""

    manufacturer: str = ""
    country: str = ""
    model_years: tuple[int, ...] = ()
    details: dict[str, str] = field(default_factory=dict)


def vin_decode(vin: str) -> VinFacts:
    """Decode a valid VIN. Raises ValueError when its maker is unknown (nothing to learn from it)."""
    decoded = Vin(vin)
    manufacturer = decoded.manufacturer or ""
    if not manufacturer or manufacturer == "UnsupportedBrand":
        raise ValueError(f"The maker of VIN {vin} (code {decoded.wmi}) is not known.")
    details: dict[str, str] = {}
    if decoded.details is not None:
        for name, title in decoded.details.annotate_titles.items():
            try:
                # A code the maker's table does not name (a bare "H") tells a buyer nothing.
                named = getattr(decoded.details, name).name or ""
                text = " or ".join(map(str, named)) if isinstance(named, list) else str(named)
            except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                continue  # a maker table of the package that cannot read this VIN
            if text:
                details[title] = text
    return VinFacts(
        manufacturer=manufacturer,
        country=decoded.country or "",
        model_years=tuple(decoded.years),
        details=details,
    )


def vin_masked(vin: str) -> str:
    """The VIN a visitor sees: the maker and model part, not the serial that singles out the car."""
    return vin[:11] + "•" * (len(vin) - 11) if vin else ""


def plate_masked(plate: str) -> str:
    """The plate a visitor sees: its first two characters only."""
    return plate[:2] + "•" * max(len(plate) - 2, 0)


def body_from_vin(text: str) -> str:
    """The Body value a maker's body description names ("Sedan, 4-Door" → "sedan"), or ""."""
    words = {
        "sedan": "sedan", "saloon": "sedan", "hatchback": "hatchback", "estate": "estate", "wagon": "estate",
        "suv": "suv", "coupe": "coupe", "convertible": "convertible", "cabrio": "convertible", "van": "van",
        "pickup": "pickup", "pick-up": "pickup",
    }  # fmt: skip
    lowered = text.casefold()
    return next((body for word, body in words.items() if word in lowered), "")


def doors_from_vin(text: str) -> int | None:
    """The doors a body description names ("Sedan, 4-Door" → 4), or None."""
    match = re.search(r"(\d)\s*-?\s*door", text, flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


def transmission_from_vin(text: str) -> str:
    lowered = text.casefold()
    if "manual" in lowered:
        return "manual"
    return "automatic" if "auto" in lowered else ""
