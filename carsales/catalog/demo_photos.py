"""Draws car pictures for the demo catalogue, so the demo needs no downloaded images.

Each body type has its own silhouette (a van does not look like a sedan), in the car's colour.
"""

import random
from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 1200, 800
Points = list[tuple[int, int]]

# Side views facing right, as (body outline, windows), on wheels at x 330 and 870. `r` is the
# roof height, varied a little per car.
SILHOUETTES: dict[str, tuple[str, str]] = {
    "sedan": (
        "170,560 160,470 230,440 400,430 480,{r} 720,{r} 820,430 1010,450 1045,520 1040,560",
        "490,428 520,{r12} 610,{r12} 610,428;625,428 625,{r12} 710,{r12} 790,428",
    ),
    "hatchback": (
        "200,560 190,450 225,{r20} 300,{r} 690,{r} 800,430 1000,450 1035,520 1030,560",
        "240,430 260,{r30} 420,{r12} 420,430;435,430 435,{r12} 680,{r12} 770,430",
    ),
    "estate": (
        "170,560 160,460 180,{r10} 250,{r} 720,{r} 820,430 1010,450 1045,520 1040,560",
        "200,430 215,{r20} 420,{r12} 420,430;435,430 435,{r12} 710,{r12} 790,430",
    ),
    "suv": (
        "170,545 160,420 175,{r-20} 250,{r-35} 730,{r-35} 830,400 1010,420 1045,500 1040,545",
        "200,405 210,{r-10} 430,{r-20} 430,405;445,405 445,{r-20} 720,{r-20} 800,405",
    ),
    "coupe": (
        "170,560 160,480 260,452 420,440 540,{r30} 690,{r30} 820,440 1010,455 1045,520 1040,560",
        "450,438 550,{r42} 680,{r42} 790,438",
    ),
    "convertible": (
        "170,560 160,470 230,448 640,448 700,380 712,384 668,448 1010,452 1045,520 1040,560",
        "",
    ),
    "van": (
        "170,560 165,300 200,{r-60} 760,{r-60} 880,400 1020,430 1045,520 1040,560",
        "220,400 230,{r-45} 420,{r-45} 420,400;440,400 440,{r-45} 750,{r-45} 850,400",
    ),
    "pickup": (
        "170,560 165,440 560,440 560,430 600,{r} 780,{r} 860,430 1010,450 1045,520 1040,560",
        "615,428 630,{r12} 770,{r12} 840,428",
    ),
}


def _points(spec: str, roof: int) -> Points:
    def value(token: str) -> int:
        if token.startswith("{r"):
            offset = token[2:-1]
            return roof + (int(offset) if offset else 0)
        return int(token)

    return [(value(x), value(y)) for x, y in (pair.split(",") for pair in spec.split())]


def car_picture(*, paint: tuple[int, int, int], seed: int, body: str = "sedan") -> bytes:
    """Return a JPEG of a `body` car in `paint` on a studio backdrop; `seed` varies the shape."""
    rng = random.Random(seed)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):  # backdrop: a soft vertical gradient, darker floor
        shade = int(225 - 60 * y / HEIGHT) if y < 560 else int(150 - 40 * (y - 560) / 240)
        draw.line([(0, y), (WIDTH, y)], fill=(shade, shade + 4, shade + 10))
    draw.ellipse([150, 590, 1050, 660], fill=(70, 74, 80))  # shadow
    image = image.filter(ImageFilter.GaussianBlur(2))
    draw = ImageDraw.Draw(image)

    outline, windows = SILHOUETTES.get(body, SILHOUETTES["sedan"])
    roof = rng.randint(310, 350)
    darker = tuple(max(0, c - 60) for c in paint)
    draw.polygon(_points(outline, roof), fill=paint, outline=darker)
    if body == "pickup":
        draw.line([(175, 446), (555, 446)], fill=darker, width=6)  # the open bed's rim
    if body == "convertible":
        draw.rounded_rectangle([300, 420, 430, 450], radius=12, fill=(40, 40, 44))  # the folded top
    for window in filter(None, windows.split(";")):
        draw.polygon(_points(window, roof), fill=(170, 200, 225))
    draw.line([(190, 500), (1020, 500)], fill=darker, width=4)  # shoulder line
    draw.rectangle([1000, 465, 1040, 485], fill=(255, 236, 170))  # headlight
    draw.rectangle([165, 470, 190, 490], fill=(200, 30, 30))  # tail light
    lift = 15 if body in ("suv", "pickup", "van") else 0
    for centre in (330, 870):
        draw.ellipse([centre - 78, 482 - lift, centre + 78, 638 - lift], fill=(25, 25, 28))
        draw.ellipse([centre - 45, 515 - lift, centre + 45, 605 - lift], fill=(170, 175, 182))
        draw.ellipse([centre - 12, 548 - lift, centre + 12, 572 - lift], fill=(60, 60, 66))
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
