"""Rebuild every committed image: copy the public-domain/CC0 photos that ship in scikit-image and
matplotlib (resized), paint the four procedural style images with a fixed seed, and paint the astronaut's person mask
from its traced outline.

Run from the repository root:  .venv/bin/python images/make_images.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = 512  # long side of every committed image


def _fit(img: Image.Image, long_side: int = SIZE) -> Image.Image:
    """Resize so the long side is `long_side` (LANCZOS), keeping the aspect ratio."""
    w, h = img.size
    scale = long_side / max(w, h)
    return img.convert("RGB").resize((round(w * scale), round(h * scale)), Image.LANCZOS)


def copy_photos() -> None:
    """Copy the bundled photos into images/content and images/style."""
    import matplotlib.cbook
    import skimage.data

    data = Path(skimage.data.__file__).parent
    (HERE / "content").mkdir(exist_ok=True)
    (HERE / "style").mkdir(exist_ok=True)
    for name in ("astronaut.png", "chelsea.png", "coffee.png"):
        _fit(Image.open(data / name)).save(HERE / "content" / name)
    _fit(Image.open(data / "rocket.jpg")).save(HERE / "content" / "rocket.jpg", quality=92)
    hopper = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    _fit(Image.open(hopper)).save(HERE / "content" / "grace_hopper.jpg", quality=92)
    _fit(Image.open(data / "hubble_deep_field.jpg")).save(HERE / "style" / "hubble_deep_field.jpg", quality=92)


def _flow_strokes(draw, rng, field, n, length, width, colours, size):
    """Draw `n` short brush strokes that follow the angle field `field(x, y)`."""
    for _ in range(n):
        x, y = rng.uniform(0, size, 2)
        colour = tuple(int(c) for c in colours[rng.integers(len(colours))])
        points = [(x, y)]
        for _ in range(length):
            angle = field(x, y)
            x, y = x + 3 * math.cos(angle), y + 3 * math.sin(angle)
            points.append((x, y))
        draw.line(points, fill=colour, width=int(width), joint="curve")


def paint_swirls(size: int = SIZE, seed: int = 1) -> Image.Image:
    """A night sky of swirling strokes around bright moons (a Starry Night stand-in)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (18, 32, 84))
    draw = ImageDraw.Draw(img)
    centres = [(0.3 * size, 0.35 * size, 1), (0.72 * size, 0.25 * size, -1), (0.55 * size, 0.7 * size, 1)]

    def field(x, y):
        vx = vy = 0.0
        for cx, cy, spin in centres:
            dx, dy = x - cx, y - cy
            r2 = dx * dx + dy * dy + 400.0
            vx += spin * -dy / r2 * 1e4
            vy += spin * dx / r2 * 1e4
        return math.atan2(vy + 0.2, vx + 1.0)

    blues = [(30, 60, 140), (50, 90, 170), (80, 120, 190), (20, 40, 110), (110, 150, 200)]
    yellows = [(240, 210, 80), (250, 235, 150), (220, 180, 60), (255, 250, 210)]
    _flow_strokes(draw, rng, field, 2600, 12, 4, blues, size)
    _flow_strokes(draw, rng, field, 700, 8, 3, yellows, size)
    for cx, cy, _ in centres:
        r = 0.06 * size
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 225, 110), outline=(255, 250, 200), width=4)
    # a dark cypress-like flame on the left
    for i in range(40):
        y0 = size * (0.35 + 0.65 * i / 40)
        half = 0.03 * size + 0.08 * size * i / 40
        draw.polygon([(0.15 * size - half, size), (0.15 * size, y0), (0.15 * size + half, size)], fill=(15 + i, 30 + i, 20))
    return img.filter(ImageFilter.SMOOTH)


def paint_waves(size: int = SIZE, seed: int = 2) -> Image.Image:
    """Layered blue waves with white foam crests (a Great Wave stand-in)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (236, 222, 190))
    draw = ImageDraw.Draw(img)
    palette = [(22, 48, 96), (35, 80, 140), (60, 110, 160), (120, 160, 190)]
    for band in range(14):
        base = size * (0.25 + band * 0.06)
        amp = size * rng.uniform(0.03, 0.08)
        freq = rng.uniform(1.5, 3.5) * 2 * math.pi / size
        phase = rng.uniform(0, 2 * math.pi)
        xs = np.linspace(0, size, 200)
        ys = base - amp * np.sin(freq * xs + phase) ** 3
        colour = palette[band % len(palette)]
        draw.polygon(list(zip(xs, ys)) + [(size, size), (0, size)], fill=colour)
        for x, y in zip(xs[::3], ys[::3]):  # foam along the crest
            r = rng.uniform(1.5, 5)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(245, 245, 235))
        draw.line(list(zip(xs, ys)), fill=(250, 250, 240), width=3)
    return img.filter(ImageFilter.SMOOTH_MORE)


def paint_composition(size: int = SIZE, seed: int = 3) -> Image.Image:
    """Circles, bars and lines in saturated colours on a warm ground (a Kandinsky stand-in)."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), (238, 228, 205))
    draw = ImageDraw.Draw(img)
    colours = [(200, 30, 40), (30, 60, 160), (240, 190, 20), (20, 20, 20), (40, 140, 80), (230, 110, 30), (120, 40, 140)]
    for _ in range(25):
        x0, y0 = rng.uniform(0, size, 2)
        x1, y1 = rng.uniform(0, size, 2)
        draw.line([(x0, y0), (x1, y1)], fill=colours[rng.integers(len(colours))], width=int(rng.integers(2, 9)))
    for _ in range(18):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(0.02, 0.12) * size
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colours[rng.integers(len(colours))], outline=(10, 10, 10), width=3)
    for _ in range(12):
        cx, cy = rng.uniform(0, size, 2)
        w, h = rng.uniform(0.01, 0.2, 2) * size
        draw.rectangle([cx, cy, cx + w, cy + h], fill=colours[rng.integers(len(colours))])
    for _ in range(8):  # chequered patches
        cx, cy = rng.uniform(0, size * 0.85, 2)
        for i in range(4):
            for j in range(4):
                if (i + j) % 2 == 0:
                    draw.rectangle([cx + 10 * i, cy + 10 * j, cx + 10 * i + 9, cy + 10 * j + 9], fill=(15, 15, 15))
    return img


def paint_mosaic(size: int = SIZE, seed: int = 4, cells: int = 220) -> Image.Image:
    """A Voronoi mosaic of coloured tiles with dark grout."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, size, (cells, 2))
    palette = np.array([(196, 62, 44), (232, 170, 52), (44, 110, 150), (90, 160, 110), (230, 220, 190), (120, 60, 110)], float)
    colours = palette[rng.integers(len(palette), size=cells)] + rng.normal(0, 12, (cells, 3))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.full((size, size), np.inf, np.float32)
    d2 = np.full((size, size), np.inf, np.float32)
    label = np.zeros((size, size), np.int32)
    for i, (px, py) in enumerate(points):
        dist = (xx - px) ** 2 + (yy - py) ** 2
        closer = dist < d
        d2 = np.where(closer, d, np.minimum(d2, dist))
        label = np.where(closer, i, label)
        d = np.where(closer, dist, d)
    edge = (np.sqrt(d2) - np.sqrt(d)) < 2.5
    out = colours[label]
    out[edge] = (40, 35, 30)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


#: The outline of the astronaut (with the helmet she holds) in astronaut.png, 512x512, traced by hand: (x, y) in pixels.
ASTRONAUT_OUTLINE = [
    (30, 512), (25, 450), (20, 380), (25, 325), (45, 280), (65, 240), (90, 218), (115, 195), (125, 162), (150, 150),
    (178, 150), (176, 128), (160, 110), (153, 85), (156, 60), (175, 32), (200, 18), (228, 14), (255, 20), (275, 32),
    (292, 55), (300, 85), (296, 108), (285, 122), (272, 138), (268, 160), (287, 184), (305, 230), (322, 242), (345, 265),
    (356, 300), (362, 338), (378, 343), (412, 342), (450, 356), (480, 388), (497, 428), (506, 458), (512, 468), (512, 512),
]


def paint_astronaut_mask(size: int = SIZE) -> Image.Image:
    """The person mask for astronaut.png: white inside ASTRONAUT_OUTLINE, black outside, a 1 px soft edge (grey PNG)."""
    scale = size / SIZE
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).polygon([(x * scale, y * scale) for x, y in ASTRONAUT_OUTLINE], fill=255)
    return mask.filter(ImageFilter.GaussianBlur(1.0))


def main() -> None:
    """Write every image into images/content, images/style and images/masks."""
    copy_photos()
    (HERE / "style").mkdir(exist_ok=True)
    paint_swirls().save(HERE / "style" / "swirls.png")
    paint_waves().save(HERE / "style" / "waves.png")
    paint_composition().save(HERE / "style" / "composition.png")
    paint_mosaic().save(HERE / "style" / "mosaic.png")
    (HERE / "masks").mkdir(exist_ok=True)
    paint_astronaut_mask().save(HERE / "masks" / "astronaut_person.png")
    print("images written to", HERE)


if __name__ == "__main__":
    main()
