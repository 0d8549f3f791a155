"""Checks on uploaded car photos, run by forms, the admin and the API alike (model validators)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from PIL import Image

from .images import PHOTO_FORMATS_TEXT, photo_open

NOT_A_PHOTO = f"Upload a photo in {PHOTO_FORMATS_TEXT}; other files and image formats are not accepted."


def validate_image_upload(upload: File) -> None:
    """Refuse files that are too large, are not JPEG, PNG or WebP, would decode to too many pixels,
    or hold too few (CARSALES_MIN_PHOTO_SIZE).

    The format is the one Pillow decodes (images.PHOTO_FORMATS), never the file's name or
    content type, so PostScript called photo.jpg is refused before any decoder runs it.

    Files already in storage (an unchanged photo on a later save) were checked when uploaded.
    Raises ValidationError with a message for the person who uploaded the file.
    """
    if getattr(upload, "_committed", False):
        return
    limit = settings.CARSALES_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"The photo is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}.",
            code="file_too_large",
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        upload.seek(0)
        # Image.open reads only the header, so the pixel check happens before any decoding.
        with photo_open(upload) as image:
            width, height = image.size
            image.verify()
        if width * height <= settings.CARSALES_MAX_IMAGE_PIXELS:
            # verify() checks the structure; only decoding every pixel finds a truncated file,
            # which would otherwise be accepted and fail later, in its thumbnail's worker.
            upload.seek(0)
            with photo_open(upload) as image:
                image.load()
    except Image.DecompressionBombError:
        raise ValidationError("The image has too many pixels to be processed safely.", code="image_too_large")
    except Exception:
        raise ValidationError(NOT_A_PHOTO, code="invalid_image")
    finally:
        upload.seek(position)
    if width * height > settings.CARSALES_MAX_IMAGE_PIXELS:
        raise ValidationError(
            f"The image is {width} x {height} pixels; at most "
            f"{settings.CARSALES_MAX_IMAGE_PIXELS:,} pixels are accepted.",
            code="image_too_large",
        )
    longer, shorter = settings.CARSALES_MIN_PHOTO_SIZE
    if max(width, height) < longer or min(width, height) < shorter:
        raise ValidationError(
            f"The photo is {width} x {height} pixels: too small to show on the car's page. "
            f"Upload one of at least {longer} x {shorter} pixels.",
            code="image_too_small",
        )
