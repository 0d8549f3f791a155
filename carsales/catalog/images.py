"""Decoding car photos: which formats, and thumbnails of them."""

from io import BytesIO
from typing import IO

from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile
from PIL import Image, ImageOps

# The formats a car photo may be, as Pillow names what it decodes. An allow-list, because
# Pillow also opens formats it hands to outside programs (EPS and PostScript run through
# Ghostscript) or that few people vet (many legacy formats). GIF is left out: a photo of a car
# has no use for it, and animation would be flattened to its first frame anyway.
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
PHOTO_FORMATS_TEXT = "JPEG, PNG or WebP"


def photo_open(file: IO[bytes]) -> Image.Image:
    """Open `file` with the decoders of PHOTO_FORMATS only, whatever its name or content type says.

    Reads the header only. Raises PIL.UnidentifiedImageError for any other format, so no other
    decoder ever sees the bytes, and Image.DecompressionBombError for too many pixels.
    """
    return Image.open(file, formats=PHOTO_FORMATS)


# What a picture written again keeps of what came with it: how it draws (a PNG's transparent
# colour, its gamma, its colour profile). Pillow writes the rest of `info` back by default (a
# JPEG's comment: an address, a phone number).
KEPT_INFO = frozenset({"transparency", "gamma", "srgb", "icc_profile"})


def _bare(image: Image.Image) -> Image.Image:
    image.info = {key: value for key, value in image.info.items() if key in KEPT_INFO}
    return image


def thumbnail_of(photo: FieldFile, *, max_side: int) -> ContentFile | None:
    """Return a JPEG of `photo` whose longest side is `max_side`, aspect ratio kept.

    Returns None when the photo already fits: the original then serves as its own thumbnail.
    Raises PIL.UnidentifiedImageError when the photo is not of PHOTO_FORMATS (uploads are
    checked by validate_image_upload; this guards files that reach storage another way).
    """
    photo.open("rb")
    try:
        with photo_open(photo) as image:
            if max(image.size) <= max_side:
                return None
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            buffer = BytesIO()
            _bare(upright.convert("RGB")).save(buffer, format="JPEG", quality=85, optimize=True)
    finally:
        photo.close()
    return ContentFile(buffer.getvalue())


def webp_of(photo: FieldFile, *, max_side: int) -> ContentFile:
    """Return a WebP of `photo` whose longest side is at most `max_side`, aspect ratio kept."""
    photo.open("rb")
    try:
        with photo_open(photo) as image:
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            buffer = BytesIO()
            _bare(upright.convert("RGB")).save(buffer, format="WEBP", quality=80, method=4)
    finally:
        photo.close()
    return ContentFile(buffer.getvalue())


def photo_published(file: IO[bytes], *, name: str) -> ContentFile:
    """The photo as it is published: turned upright as its camera recorded, then written again
    without its metadata (EXIF, XMP, a comment: a GPS position, a camera's serial number, a note),
    in its format; what it needs to draw as it did (KEPT_INFO) kept.

    Raises what photo_open raises, and OSError for a file that does not decode to the end.
    """
    with photo_open(file) as image:
        upright = ImageOps.exif_transpose(image)
        kind = image.format or "JPEG"
        buffer = BytesIO()
        options = {"quality": 90} if kind in {"JPEG", "WEBP"} else {}
        if kind == "JPEG" and upright.mode not in {"RGB", "L"}:
            upright = upright.convert("RGB")
        _bare(upright).save(buffer, format=kind, **options)
    return ContentFile(buffer.getvalue(), name=name)
