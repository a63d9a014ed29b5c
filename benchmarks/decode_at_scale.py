"""Decoding a JPEG at the model's scale vs. in full, on real photos made large.

Each real photo of the tests (`tests/real_photos.py`) is upscaled with Pillow's LANCZOS
to 12 and 48 megapixels (its aspect kept) and saved as a JPEG of quality 90. For each
model input size, the model's pixels from `read_photo(path, target_size=...)` (decoded
at 1/2, 1/4 or 1/8 scale, then resized) are compared with those of `read_photo(path)`
(decoded in full, then resized): the mean absolute difference (grey levels, 0-255)
averaged over the photos, and the largest over all their pixels. "JPEG q90 itself" is the
difference the JPEG already makes: the full decode against the lossless photo it was
saved from, resized alike. The times are decode + resize, best of `--repeats`, of the
first photo (the astronaut, square).

Usage (from the repository root): python -m benchmarks.decode_at_scale [--photos 11]
    [--repeats 5] [--megapixels 12 48] [--targets 64 450] [--json results.json]
"""

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def large_jpeg(source, megapixels, path):
    """`source` upscaled (LANCZOS, aspect kept) to about `megapixels`, saved at quality 90;
    returns the lossless upscaled pixels."""
    from PIL import Image

    with Image.open(source) as image:
        image = image.convert("RGB")
    factor = math.sqrt(megapixels * 1e6 / (image.width * image.height))
    large = image.resize((round(image.width * factor), round(image.height * factor)), Image.LANCZOS)
    large.save(path, quality=90)
    return np.asarray(large)


def best_time(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(photos, megapixels, targets, repeats, folder):
    """One result per (megapixels, target): differences over `photos`, times on the first."""
    from siam_keras.runtime.images import read_photo, resize_for_model

    results = {(mp, t): {"megapixels": mp, "target": t, "mean": [], "max": 0, "jpeg_mean": [],
                         "scales": set()} for mp in megapixels for t in targets}
    for mp in megapixels:
        for i, source in enumerate(photos):
            path = Path(folder) / f"{i}_{mp}mp.jpg"
            lossless = large_jpeg(source, mp, path)
            full = read_photo(path)
            for target in targets:
                result = results[(mp, target)]
                drafted = read_photo(path, target_size=target)
                result["scales"].add(drafted.decode_scale)
                at_scale = resize_for_model(drafted, target).astype(int)
                in_full = resize_for_model(full.pixels, target).astype(int)
                original = resize_for_model(lossless, target).astype(int)
                result["mean"].append(float(np.abs(at_scale - in_full).mean()))
                result["max"] = max(result["max"], int(np.abs(at_scale - in_full).max()))
                result["jpeg_mean"].append(float(np.abs(in_full - original).mean()))
                if i == 0:
                    result["size"] = f"{full.source_width} x {full.source_height}"
                    result["full_s"] = best_time(
                        lambda p=path, t=target: resize_for_model(read_photo(p).pixels, t), repeats)
                    result["at_scale_s"] = best_time(
                        lambda p=path, t=target: resize_for_model(read_photo(p, target_size=t), t),
                        repeats)
            path.unlink()
            print(f"  {mp} MP: {source.name}", flush=True)
    for result in results.values():
        result["mean"] = float(np.mean(result["mean"]))
        result["jpeg_mean"] = float(np.mean(result["jpeg_mean"]))
        result["scales"] = sorted(result["scales"])
    return list(results.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=11,
                        help="how many of the real test photos to use (11: all)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each decode; best kept")
    parser.add_argument("--megapixels", type=int, nargs="+", default=[12, 48],
                        help="sizes the photos are upscaled to, in megapixels")
    parser.add_argument("--targets", type=int, nargs="+", default=[64, 450],
                        help="model input sizes (square), in pixels")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    from tests.real_photos import real_photos

    photos = real_photos()[: args.photos]
    print(f"Decoding at the model's scale: {len(photos)} real photos, JPEG quality 90")
    with tempfile.TemporaryDirectory() as folder:
        results = measure(photos, args.megapixels, args.targets, args.repeats, folder)
    rows = [("photo", "model input", "decoded at", "mean |diff|", "max |diff|", "JPEG q90 itself",
             "full decode + resize", "at scale", "speed-up")]
    for r in results:
        rows.append((f"{r['megapixels']} MP ({r['size']})", f"{r['target']} px",
                     "/".join(f"1/{s}" for s in r["scales"]), f"{r['mean']:.2f}", r["max"],
                     f"{r['jpeg_mean']:.2f}", f"{r['full_s']:.3f} s", f"{r['at_scale_s']:.3f} s",
                     f"{r['full_s'] / r['at_scale_s']:.1f}x"))
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
