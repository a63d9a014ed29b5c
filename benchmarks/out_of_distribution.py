"""The out-of-distribution flag of a trained model: real photos against held-out scenes.

For a model trained on synthetic_scenes (the demo's, by default), explains the real
photos of the tests (`tests/real_photos.py`) and `--num-scenes` generated scenes of the
split training never saw (test, regenerated from the run's config), and prints which are
flagged as unlike the training photos, with their distances. Then times the explanation
of a batch with the distribution against without it (the distance's cost), beside the
forward pass alone: the explain-over-predict ratio `siam evaluate --explanations` reports.

Usage (from the repository root): python -m benchmarks.out_of_distribution
    [--run runs/demo] [--num-scenes 1000] [--repeats 30] [--json results.json]
"""

import argparse
import json
from pathlib import Path

import numpy as np


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def real_photo_pixels(image_size):
    """{file name: model pixels} of the tests' real photos, and the names unreadable."""
    from siam_keras.runtime.images import ImageError, read_photo, resize_for_model
    from tests.real_photos import real_photos

    pixels, unreadable = {}, []
    for path in real_photos():
        try:
            photo = read_photo(path, target_size=(image_size, image_size))
            pixels[path.name] = resize_for_model(photo, image_size, image_size)
        except ImageError:
            unreadable.append(path.name)
    return pixels, unreadable


def held_out_scenes(run, image_size, num_scenes):
    from siam_keras.cli.evaluate import synthetic_scenes_settings
    from siam_keras.data import SyntheticScenes

    settings = synthetic_scenes_settings(run / "config.toml")
    return SyntheticScenes(image_size=image_size, **settings).generate("test", num_scenes)["image"]


def best_seconds(function, repeats):
    from benchmarks.decode_at_scale import best_time

    function()  # traced and warm
    return best_time(function, repeats)


def main(argv=None):
    from benchmarks.machine import cpu_description
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", default="runs/demo", help="a siam-train run folder "
                        "(synthetic_scenes) with model.keras and config.toml")
    parser.add_argument("--num-scenes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    run = Path(args.run)
    model = load_model(run / "model.keras")
    kept = model.siam_head.training_distribution
    if kept is None:
        parser.error(f"{run / 'model.keras'} keeps no training distribution: train it again "
                     "with this siam-keras")
    size = model.image_size[0]
    explainer = SIAMExplainer(model)
    photos, unreadable = real_photo_pixels(size)
    found = explainer(np.stack(list(photos.values())).astype("float32")).out_of_distribution
    scenes = held_out_scenes(run, size, args.num_scenes)
    scene_flags = explainer(scenes.astype("float32")).out_of_distribution
    print(cpu_description())
    print(f"{run / 'model.keras'}: threshold {kept.threshold:.2f} (the {kept.quantile:.1%} "
          f"quantile of held-out photos' distances; fitted on {kept.num_photos} photos)\n")
    rows = [("real photo", "distance", "flagged")]
    rows += [(name, f"{d:.2f}", "yes" if f else "no")
             for name, d, f in zip(photos, found.distance, found.flagged)]
    print(_table(rows))
    if unreadable:
        print(f"unreadable: {', '.join(unreadable)}")
    print(f"\nreal photos flagged: {int(found.flagged.sum())} of {len(photos)}")
    print(f"held-out generated scenes flagged: {int(scene_flags.flagged.sum())} of "
          f"{len(scenes)} ({scene_flags.flagged.mean():.1%}); their distances: median "
          f"{np.median(scene_flags.distance):.2f}, 99th percentile "
          f"{np.percentile(scene_flags.distance, 99):.2f}")

    batch = scenes[:32].astype("float32")
    bare = load_model(run / "model.keras")  # its own copy: the explainer reads the layer's
    bare.siam_head.training_distribution = None
    without = SIAMExplainer(bare)
    times = {"predict": best_seconds(lambda: model.predict_on_batch(batch), args.repeats),
             "explain, no distribution": best_seconds(lambda: without(batch), args.repeats),
             "explain, with the distribution": best_seconds(lambda: explainer(batch),
                                                            args.repeats)}
    maps = explainer.predict(batch)["attribute_maps"]
    distance = best_seconds(lambda: kept.distance(maps), args.repeats)
    print(f"\nA batch of 32, best of {args.repeats}:")
    rows = [("", "ms", "x predict")]
    rows += [(name, f"{1000 * t:.2f}", f"{t / times['predict']:.3f}") for name, t in times.items()]
    print(_table(rows))
    print(f"the distance alone: {1000 * distance:.3f} ms per batch")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "threshold": kept.threshold, "real": {n: {"distance": float(d), "flagged": bool(f)}
                                                  for n, d, f in zip(photos, found.distance,
                                                                     found.flagged)},
            "scenes_flagged": float(scene_flags.flagged.mean()), "num_scenes": len(scenes),
            "seconds": times}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
