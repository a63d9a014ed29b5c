"""Procedural landscape-like scenes: a per-pixel concept label map and its RGB image.

Drawing is done on a label map (one concept id per pixel, later paint covers earlier
paint), then every concept is given its own texture. The masks are therefore exact:
a pixel belongs to the concept that is visible there. NumPy and Pillow only (Pillow
imported when drawing: the training config, which reads `CONCEPTS`, needs none).
"""

import numpy as np

#: Concepts, in attribute order. Their ids in the label map are their indices.
CONCEPTS = ("sky", "clouds", "water", "trees", "grass", "road", "buildings", "rock")
#: Label-map id of bare ground, which is no attribute.
GROUND = len(CONCEPTS)

SKY, CLOUDS, WATER, TREES, GRASS, ROAD, BUILDINGS, ROCK = range(len(CONCEPTS))

#: Probability that a concept is drawn at all (clouds and rock need some sky).
PRESENCE = {
    SKY: 0.85, CLOUDS: 0.55, WATER: 0.45, TREES: 0.5, GRASS: 0.55, ROAD: 0.4,
    BUILDINGS: 0.4, ROCK: 0.4,
}

# Base colours (RGB) of each concept and of the ground.
_COLOURS = {
    SKY: (120, 170, 235), CLOUDS: (238, 238, 242), WATER: (35, 85, 160),
    TREES: (30, 90, 35), GRASS: (110, 175, 60), ROAD: (70, 70, 75),
    BUILDINGS: (170, 80, 60), ROCK: (125, 115, 105), GROUND: (160, 130, 90),
}


def _draw(label_map, shape, points, concept, where=None):
    """Paints a polygon or ellipse with `concept`, only over ids in `where` if given."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (label_map.shape[1], label_map.shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    if shape == "polygon":
        draw.polygon([tuple(map(float, p)) for p in points], fill=1)
    elif shape == "ellipse":
        draw.ellipse([float(v) for v in points], fill=1)
    else:
        draw.rectangle([float(v) for v in points], fill=1)
    mask = np.asarray(canvas, dtype=bool)
    if where is not None:
        mask &= np.isin(label_map, where)
    label_map[mask] = concept


def draw_layout(rng, size):
    """Returns a (size, size) uint8 label map of a random scene."""
    s = float(size)
    present = {c: rng.random() < p for c, p in PRESENCE.items()}
    horizon = rng.uniform(0.25, 0.6) * s if present[SKY] else 0.0
    label_map = np.full((size, size), GROUND, dtype=np.uint8)
    label_map[: int(round(horizon))] = SKY
    if present[SKY] and present[CLOUDS]:
        for _ in range(rng.integers(1, 4)):
            cx, cy = rng.uniform(0, s), rng.uniform(0.05, 0.8) * horizon
            w, h = rng.uniform(0.12, 0.35) * s, rng.uniform(0.05, 0.12) * s
            _draw(label_map, "ellipse", (cx - w, cy - h, cx + w, cy + h), CLOUDS, where=[SKY])
    if present[ROCK]:
        base = horizon if present[SKY] else rng.uniform(0.4, 0.8) * s
        for _ in range(rng.integers(1, 3)):
            cx, w = rng.uniform(0, s), rng.uniform(0.2, 0.45) * s
            peak = base - rng.uniform(0.12, 0.3) * s
            _draw(label_map, "polygon", [(cx - w, base + 1), (cx, peak), (cx + w, base + 1)], ROCK)
    water_bottom = horizon
    if present[WATER]:
        water_bottom = horizon + rng.uniform(0.12, 0.35) * s
        tilt = rng.uniform(-0.05, 0.05) * s
        _draw(label_map, "polygon",
              [(0, horizon), (s, horizon), (s, water_bottom + tilt), (0, water_bottom - tilt)],
              WATER, where=[GROUND])
    if present[GRASS]:
        top = rng.uniform(max(water_bottom, horizon), max(water_bottom, horizon) + 0.25 * s)
        left, right = (0.0, s) if rng.random() < 0.6 else sorted(rng.uniform(0, s, 2) * [1, 1])
        right = max(right, left + 0.35 * s)
        wobble = rng.uniform(-0.06, 0.06) * s
        _draw(label_map, "polygon", [(left, top + wobble), (right, top - wobble), (right, s), (left, s)],
              GRASS, where=[GROUND])
    if present[ROAD]:
        cx, bottom_w = rng.uniform(0.2, 0.8) * s, rng.uniform(0.25, 0.55) * s
        vx = cx + rng.uniform(-0.2, 0.2) * s
        top = max(horizon, water_bottom)
        _draw(label_map, "polygon",
              [(cx - bottom_w / 2, s), (cx + bottom_w / 2, s), (vx + 0.02 * s, top), (vx - 0.02 * s, top)],
              ROAD, where=[GROUND, GRASS])
    if present[BUILDINGS]:
        base = max(horizon, 0.35 * s) + rng.uniform(0.0, 0.1) * s
        for _ in range(rng.integers(1, 4)):
            x0, w = rng.uniform(-0.05, 0.85) * s, rng.uniform(0.1, 0.25) * s
            h = rng.uniform(0.15, 0.4) * s
            _draw(label_map, "rectangle", (x0, base - h, x0 + w, base), BUILDINGS)
    if present[TREES]:
        for _ in range(rng.integers(1, 5)):
            by = rng.uniform(max(horizon, 0.3 * s) + 0.05 * s, s)
            scale = 0.35 + 0.65 * by / s
            cx, r = rng.uniform(0, s), rng.uniform(0.07, 0.13) * s * scale
            trunk = 0.05 * s * scale
            _draw(label_map, "rectangle", (cx - trunk / 3, by - 2.2 * r, cx + trunk / 3, by), TREES)
            _draw(label_map, "ellipse", (cx - r, by - 3.6 * r, cx + r, by - 1.6 * r), TREES)
    return label_map


def _smooth_noise(rng, size, cells):
    """Low-frequency noise in [-1, 1]: a coarse random grid resized bilinearly."""
    from PIL import Image

    coarse = rng.uniform(-1, 1, (cells, cells)).astype("float32")
    image = Image.fromarray(coarse, mode="F").resize((size, size), Image.BILINEAR)
    return np.asarray(image)


def render(rng, label_map):
    """Colours a label map with per-concept textures; returns (H, W, 3) uint8."""
    size = label_map.shape[0]
    rows = np.linspace(0.0, 1.0, size, dtype="float32")[:, None]
    cols = np.linspace(0.0, 1.0, size, dtype="float32")[None, :]
    fine = rng.normal(0.0, 1.0, (size, size)).astype("float32")
    blotch = _smooth_noise(rng, size, 6)
    image = np.zeros((size, size, 3), dtype="float32")
    for concept, colour in _COLOURS.items():
        mask = label_map == concept
        if not mask.any():
            continue
        jitter = rng.uniform(0.85, 1.15, 3).astype("float32")
        base = np.asarray(colour, dtype="float32") * jitter
        if concept == SKY:
            shade = 1.0 + 0.25 * rows + 0.0 * cols
        elif concept == CLOUDS:
            shade = 1.0 - 0.08 * (blotch + 1.0)
        elif concept == WATER:
            shade = 1.0 + 0.15 * np.sin(rows * size * 1.3 + 0.3 * blotch * size / 8) + 0.04 * fine
        elif concept == TREES:
            shade = 1.0 + 0.35 * blotch + 0.15 * fine
        elif concept == GRASS:
            shade = 1.0 + 0.12 * fine + 0.08 * np.sin(cols * size * 2.1)
        elif concept == ROAD:
            shade = 1.0 + 0.05 * fine
        elif concept == BUILDINGS:
            windows = (np.sin(rows * size * 1.6) > 0.3) & (np.sin(cols * size * 1.6) > 0.3)
            shade = np.where(windows, 0.45, 1.0) + 0.04 * fine
        elif concept == ROCK:
            shade = 1.0 + 0.25 * fine + 0.2 * blotch
        else:
            shade = 1.0 + 0.15 * fine + 0.1 * blotch
        layer = base[None, None, :] * np.broadcast_to(shade, (size, size))[..., None]
        image[mask] = layer[mask]
    # Road markings: a light dashed centre line on the road's middle columns.
    road = label_map == ROAD
    if road.any():
        ys, xs = np.nonzero(road)
        dashes = (np.floor(rows * size / 3) % 2 == 0) & np.ones_like(cols, dtype=bool)
        for y in np.unique(ys):
            row_x = xs[ys == y]
            centre = int(round(row_x.mean()))
            if dashes[y, 0] and row_x.size >= 5:
                image[y, centre] = (235, 225, 150)
    image *= rng.uniform(0.85, 1.15)
    return np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
