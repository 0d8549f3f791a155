"""Thumbnail creation for car photos."""

from io import BytesIO

from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile
from PIL import Image, ImageOps


def thumbnail_of(photo: FieldFile, *, max_side: int) -> ContentFile | None:
    """Return a JPEG of `photo` whose longest side is `max_side`, aspect ratio kept.

    Returns None when the photo already fits: the original then serves as its own thumbnail.
    """
    photo.open("rb")
    try:
        with Image.open(photo) as image:
            if max(image.size) <= max_side:
                return None
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            buffer = BytesIO()
            upright.convert("RGB").save(buffer, format="JPEG", quality=85, optimize=True)
    finally:
        photo.close()
    return ContentFile(buffer.getvalue())
