"""Small data with the default config: how SIAM and the baseline do from 150 to 2,400 photos.

For each size, `benchmarks.small_data_photos` writes a manifest of JPEG photos (64 px,
4 attribute columns, a regression output `score` and a 3-class output `kind`; the same
100 validation and 200 test photos at every size) and `siam-train` trains it with the
README's minimal config, nothing else set, as a new user would. The table gives the
held-out Kendall's tau and accuracy of SIAM and of the baseline, SIAM's attribute mAP,
whether the kept SIAM model passed its health checks, the steps trained and the time.

Usage (from the repository root):
    python -m benchmarks.small_data [--sizes 150 300 600 1200 2400] [--out runs/small_data]
        [--set train.epochs=48 ...]   (more overrides for every run, e.g. the 4x-epochs check)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import cpu_description
from benchmarks.small_data_photos import minimal_config, write_small_data_photos

SIZES = (150, 300, 600, 1200, 2400)
HEADER = ["train photos", "SIAM tau", "baseline tau", "SIAM accuracy", "baseline accuracy",
          "attribute mAP", "healthy", "steps", "train s"]


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def markdown(rows):
    """The table as Markdown, for the README."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows[1:]])


def measure(size, out, overrides=(), image_size=64, seed=0):
    """One row: the manifest of `size` training photos written into `out`, trained there."""
    folder = Path(out) / f"photos_{size}"
    if not (folder / "photos.csv").exists():
        write_small_data_photos(folder, size, image_size=image_size, seed=seed)
    (folder / "config.toml").write_text(minimal_config(image_size))
    run = Path(out) / f"run_{size}"
    command = [sys.executable, "-m", "training", "--config", str(folder / "config.toml"),
               "--out", str(run), "--overwrite", "--keep-unhealthy"]
    if overrides:
        command += ["--set", *overrides]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"siam-train failed on {size} photos (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    metrics = json.loads((run / "metrics.json").read_text())
    outputs, baseline = metrics["outputs"], metrics["baseline"]["outputs"]
    epochs = sum(1 for _ in open(run / "history.csv")) - 1
    return [size, f"{outputs['score']['kendall_tau']:.3f}",
            f"{baseline['score']['kendall_tau']:.3f}", f"{outputs['kind']['accuracy']:.3f}",
            f"{baseline['kind']['accuracy']:.3f}", f"{metrics['attributes']['mean_ap']:.3f}",
            "yes" if metrics["health"]["siam"]["ok"] else "no",
            epochs * metrics["training"]["steps_per_epoch"], f"{seconds:.0f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="training photos of each run (default: 150 300 600 1200 2400)")
    parser.add_argument("--out", default=None, help="photos and runs (default: a temporary folder)")
    parser.add_argument("--image-size", type=int, default=64, help="photo side (default: 64)")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE",
                        help="config overrides for every run (default: none, the minimal config)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="small_data_")
    os.makedirs(out, exist_ok=True)
    print(cpu_description())
    print(f"minimal config{' with ' + ' '.join(args.overrides) if args.overrides else ''}; "
          f"100 validation and 200 test photos; runs in {out}", flush=True)
    rows = [HEADER]
    for size in args.sizes:
        rows.append(measure(size, out, args.overrides, args.image_size))
        print(_table([rows[0], rows[-1]]).splitlines()[-1], flush=True)
    print("\n" + _table(rows) + "\n\n" + markdown(rows))
    return rows


if __name__ == "__main__":
    main()
