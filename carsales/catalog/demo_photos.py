"""Draws car pictures for the demo catalogue, so the demo needs no downloaded images."""

import random
from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 1200, 800


def car_picture(*, paint: tuple[int, int, int], seed: int) -> bytes:
    """Return a JPEG of a car in `paint` on a studio backdrop; `seed` varies the shape."""
    rng = random.Random(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):  # backdrop: a soft vertical gradient, darker floor
        shade = int(225 - 60 * y / HEIGHT) if y < 560 else int(150 - 40 * (y - 560) / 240)
        draw.line([(0, y), (WIDTH, y)], fill=(shade, shade + 4, shade + 10))
    draw.ellipse([150, 590, 1050, 660], fill=(70, 74, 80))  # shadow
    image = image.filter(ImageFilter.GaussianBlur(2))
    draw = ImageDraw.Draw(image)

    roof = rng.randint(300, 360)
    cabin_front, cabin_back = rng.randint(420, 470), rng.randint(760, 820)
    darker = tuple(max(0, c - 60) for c in paint)
    body = [
        (170, 560),
        (160, 470),
        (230, 440),
        (cabin_front - 40, 430),
        (cabin_front + 40, roof),
        (cabin_back - 40, roof),
        (cabin_back + 60, 430),
        (1010, 450),
        (1045, 520),
        (1040, 560),
    ]
    draw.polygon(body, fill=paint, outline=darker)
    draw.line([(190, 500), (1020, 500)], fill=darker, width=4)  # shoulder line
    glass = (170, 200, 225)
    draw.polygon([(cabin_front + 10, 428), (cabin_front + 55, roof + 12), (610, roof + 12), (610, 428)], fill=glass)
    draw.polygon([(625, 428), (625, roof + 12), (cabin_back - 50, roof + 12), (cabin_back + 30, 428)], fill=glass)
    draw.rectangle([1000, 465, 1040, 485], fill=(255, 236, 170))  # headlight
    draw.rectangle([165, 470, 190, 490], fill=(200, 30, 30))  # tail light
    for centre in (330, 870):
        draw.ellipse([centre - 78, 482, centre + 78, 638], fill=(25, 25, 28))
        draw.ellipse([centre - 45, 515, centre + 45, 605], fill=(170, 175, 182))
        draw.ellipse([centre - 12, 548, centre + 12, 572], fill=(60, 60, 66))
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
