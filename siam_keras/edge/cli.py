"""`siam-edge explain`: explain a `.tflite` SIAM model's predictions, no TensorFlow needed;
`siam-edge check`: check this runtime against an export's test vectors."""

import argparse
import functools
import sys

from siam_keras.app.image_files import add_output_options
from siam_keras.runtime.explanation_table import checked_table_path
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES
from siam_keras.runtime.output_folder import printable


def build_parser():
    parser = argparse.ArgumentParser(
        prog="siam-edge",
        description="Explain a SIAM model exported to TFLite (siam-export) with LiteRT: "
                    "NumPy, Pillow and ai-edge-litert are all it needs.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    explain = commands.add_parser(
        "explain",
        help="a JSON file and a PNG overlay per image",
        description=(
            "Explain the model's prediction on each image: the same JSON files as `siam "
            "explain` (values, bias, contributions, top-k, attribute maps and spatial "
            "contributions on the feature grid) and a PNG overlay drawn with Pillow, plus "
            "summary.json and, for the photos with an EXIF GPS position, locations.geojson "
            "(a map of the predictions). Folders are searched recursively for "
            f"{', '.join(IMAGE_SUFFIXES)}. "
            "An image that cannot be read is reported by name and skipped; the exit status "
            "is then 1."
        ),
    )
    explain.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER",
                         help="image files (JPEG, PNG, WebP, TIFF: any size and mode) or folders")
    explain.add_argument("--model", required=True,
                         help="a .tflite file written by siam-export (e.g. model_int8.tflite)")
    explain.add_argument("--sidecar", default=None,
                         help="its siam_model.json (default: beside the model)")
    explain.add_argument("--out", required=True,
                         help="folder for the JSON files and overlays: not an input folder; a "
                              "file there is replaced only if an earlier explain run wrote it")
    explain.add_argument("--top-k", type=int, default=8, help="attributes ranked (default: 8)")
    explain.add_argument("--output", default=None,
                         help="the output the overlays explain (default: the first)")
    explain.add_argument("--threads", type=int, default=2, help="LiteRT CPU threads (default: 2)")
    explain.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                         help="refuse images larger than this, unread (default: 50000000)")
    add_output_options(explain)
    check = commands.add_parser(
        "check",
        help="check LiteRT here against the export's test vectors",
        description=(
            "Run each TFLite variant on the export's test vectors (tflite/test_vectors/: "
            "images at the model's input size and the tensors the export computed) and "
            "compare within each variant's tolerance; prints a table, exits 1 if one fails. "
            "Run it once on a new device or LiteRT version."),
    )
    check.add_argument("folder", metavar="TEST_VECTORS",
                       help="the test vector folder (EXPORT_DIR/tflite/test_vectors)")
    check.add_argument("--models", default=None,
                       help="the folder of the .tflite files (default: the folder above)")
    check.add_argument("--variant", action="append", default=None,
                       help="check only this variant (repeatable; default: all)")
    check.add_argument("--threads", type=int, default=2, help="LiteRT CPU threads (default: 2)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return _check(args) if args.command == "check" else _explain(args)
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"siam-edge {args.command}: error: {printable(error)}", file=sys.stderr)
        return 2


def _explain(args):
    from siam_keras.app import image_files as explained_files
    from siam_keras.edge.explainer import EdgeExplainer
    from siam_keras.edge.overlay import draw_overlay

    table = None if args.table is None else checked_table_path(args.table, "--table")
    files = explained_files.checked_arguments(args.images, args.out, top_k=args.top_k,
                                              threads=args.threads,
                                              max_pixels=args.max_pixels)
    explainer = EdgeExplainer(args.model, args.sidecar, num_threads=args.threads)
    explained_files.checked_output(args.output, explainer.output_names)
    summary = explained_files.explain_files(
        files, explainer, args.out, args.model,
        draw=None if args.figures == "none" else functools.partial(
            draw_overlay, variant=explainer.variant), output=args.output,
        top_k=args.top_k, batch_size=16, max_pixels=args.max_pixels, label="siam-edge explain",
        table=table)
    return explained_files.report(summary, args.out)


def _check(args):
    from siam_keras.edge import test_vectors

    report = test_vectors.check(args.folder, args.models, args.variant, args.threads)
    print(f"{'variant':<10}{'largest relative error':>24}{'tolerance':>11}  result")
    for variant, entry in report.items():
        print(f"{variant:<10}{entry['worst']:>24.2e}{entry['tolerance']:>11g}  "
              f"{'ok' if entry['passed'] else 'FAILED: ' + max(entry['errors'], key=entry['errors'].get)}")
    return 0 if all(entry["passed"] for entry in report.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
