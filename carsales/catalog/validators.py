"""Checks on uploaded car photos, run by forms, the admin and the API alike (model validators)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from PIL import Image


def validate_image_upload(upload: File) -> None:
    """Refuse files that are too large, are not images, or would decode to too many pixels.

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
        with Image.open(upload) as image:
            width, height = image.size
            image.verify()
    except Image.DecompressionBombError:
        raise ValidationError("The image has too many pixels to be processed safely.", code="image_too_large")
    except Exception:
        raise ValidationError("Upload a valid image (JPEG, PNG, WebP or GIF).", code="invalid_image")
    finally:
        upload.seek(position)
    if width * height > settings.CARSALES_MAX_IMAGE_PIXELS:
        raise ValidationError(
            f"The image is {width} x {height} pixels; at most "
            f"{settings.CARSALES_MAX_IMAGE_PIXELS:,} pixels are accepted.",
            code="image_too_large",
        )
