"""`siam-export` (or `python -m export`): a SIAM model for TF Serving, LiteRT and edge devices."""

import argparse
import os
import sys

from export.config import (
    DEFAULT_CALIBRATION_IMAGES,
    DEFAULT_HOLDOUT_IMAGES,
    DEFAULT_LATENCY_RUNS,
    DEFAULT_TEST_VECTORS,
    ExportConfig,
)
from export.variants import VARIANTS
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS
from siam_keras.runtime.native_logs import import_tensorflow, quiet_library_logs
from siam_keras.runtime.output_folder import printable


def build_parser():
    parser = argparse.ArgumentParser(
        prog="siam-export",
        description=(
            "Export a SIAM .keras model. Writes EXPORT_DIR/saved_model/<N>/ (TF Serving's "
            "layout, written atomically; signatures serving_default (pixels) and "
            "serve_image_bytes (JPEG/PNG bytes), both returning the outputs, attribute "
            "scores, attribute maps and contributions), EXPORT_DIR/tflite/model_<variant>."
            "tflite (builtin ops only; quantised backbones, float32 heads, so explanations on "
            "a device are exact) with siam_model.json beside them, EXPORT_DIR/"
            "fidelity.json (each variant against the Keras model, also printed as a table), "
            "EXPORT_DIR/tflite/test_vectors/ (images and expected tensors any runtime checks "
            "itself against), EXPORT_DIR/edge/, a wheel of the edge runtime (siam-edge), and "
            "with --web EXPORT_DIR/web/, a page that explains photos in a browser."
        ),
        epilog="Example: siam-export --model runs/demo/model.keras --out runs/demo/export",
    )
    parser.add_argument("--model", required=True, help="a SIAM model saved as .keras")
    parser.add_argument("--out", required=True, metavar="EXPORT_DIR", help="the export folder")
    parser.add_argument("--version", type=int, default=None,
                        help="SavedModel version N (default: one more than the latest)")
    parser.add_argument("--tflite", default=",".join(VARIANTS),
                        help=f"TFLite variants, comma-separated (default: {','.join(VARIANTS)})")
    parser.add_argument("--calibration", default="synthetic_scenes", metavar="DATA",
                        help="int8 calibration images: a folder of training images, or "
                             "synthetic_scenes (its training split; the default)")
    parser.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES,
                        help=f"how many (default: {DEFAULT_CALIBRATION_IMAGES})")
    parser.add_argument("--holdout", default="synthetic_scenes", metavar="DATA",
                        help="held-out images for the fidelity report: a folder, or "
                             "synthetic_scenes (its test split; the default)")
    parser.add_argument("--holdout-images", type=int, default=DEFAULT_HOLDOUT_IMAGES,
                        help=f"how many (default: {DEFAULT_HOLDOUT_IMAGES})")
    parser.add_argument("--latency-runs", type=int, default=DEFAULT_LATENCY_RUNS,
                        help="timed rounds of batch-1 calls, one per variant (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic_scenes seed (default: 0)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="serve_image_bytes refuses larger images from their header, before "
                             f"decoding (default: {DEFAULT_MAX_PIXELS}, as siam explain)")
    parser.add_argument("--test-vectors", type=int, default=DEFAULT_TEST_VECTORS, metavar="N",
                        help="held-out images in tflite/test_vectors/, with every variant's "
                             "expected tensors, for other runtimes to check themselves against "
                             f"(default: {DEFAULT_TEST_VECTORS})")
    parser.add_argument("--web", action="store_true",
                        help="also write EXPORT_DIR/web/: a static page that explains photos in "
                             "the browser, camera included, with what-if sliders (LiteRT.js; "
                             "install it first with `make web`)")
    parser.add_argument("--web-variant", choices=VARIANTS, default=None,
                        help="the TFLite variant the page runs (default: int8 if exported)")
    parser.add_argument("--litertjs", default=None, metavar="DIR",
                        help="node_modules/@litertjs to copy LiteRT.js from (default: "
                             "$SIAM_LITERTJS, else export/web/node_modules/@litertjs)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing SavedModel version, and an earlier export's "
                             "tflite/ folder and fidelity.json (refused otherwise)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_library_logs()
    import_tensorflow()  # without its start-up chatter
    try:
        config = ExportConfig(
            model=args.model, out=args.out, version=args.version, variants=args.tflite,
            calibration=args.calibration, calibration_images=args.calibration_images,
            holdout=args.holdout, holdout_images=args.holdout_images,
            latency_runs=args.latency_runs, seed=args.seed, max_pixels=args.max_pixels,
            overwrite=args.overwrite, test_vectors=args.test_vectors, web=args.web,
            web_variant=args.web_variant, litertjs=args.litertjs)
        from export.run import run

        run(config)
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 2
    return 0
