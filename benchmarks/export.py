"""Size and latency of an export's TFLite variants, one run (LiteRT, batch 1, 2 threads).

The same measurement as `siam-export`'s fidelity report (rounds interleaved in
random order, ratios to float32 paired by round), repeated on an existing export
without converting again.

Usage: python -m benchmarks.export --export runs/demo/export [--rounds 3000] [--threads 2]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", default="runs/demo/export", help="an EXPORT_DIR")
    parser.add_argument("--rounds", type=int, default=3000, help="timed rounds (default: 3000)")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads (default: 2)")
    args = parser.parse_args(argv)

    from pathlib import Path

    import numpy as np

    from export.fidelity import latencies
    from export.variants import VARIANTS
    from siam_keras.runtime.sidecar import SIDECAR_NAME, ModelSidecar

    folder = Path(args.export) / "tflite"
    sidecar = ModelSidecar.load(folder / SIDECAR_NAME)
    files = {v: folder / f"model_{v}.tflite" for v in VARIANTS if (folder / f"model_{v}.tflite").is_file()}
    if not files:
        raise SystemExit(f"No model_<variant>.tflite in {folder}: run siam-export first")
    image = np.random.default_rng(0).integers(0, 256, (*sidecar.image_size, 3)).astype("float32")
    medians, ratios, _ = latencies(files, image, args.rounds, args.threads)
    rows = [("variant", "size_bytes", "size_ratio", "latency_ms", "latency_ratio")]
    base = files.get("float32")
    for variant, path in files.items():
        size = path.stat().st_size
        rows.append((variant, f"{size:,}", f"{size / base.stat().st_size:.3f}" if base else "-",
                     f"{medians[variant]:.3f}", f"{ratios[variant]:.3f}" if ratios else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"{folder}: batch 1, {args.threads} threads, {args.rounds} interleaved rounds")
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows))


if __name__ == "__main__":
    main()
