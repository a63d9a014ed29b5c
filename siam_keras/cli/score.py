"""`siam score`: explain many photos on Apache Beam into one .parquet or .csv table
(`siam-keras[beam]`)."""

import argparse
import contextlib
import os
import sys
import textwrap

from siam_keras.model_files import MODEL_HELP
from siam_keras.runtime.argument_validation import positive_ints
from siam_keras.runtime.explanation_table import checked_table_path
from siam_keras.runtime.images import DEFAULT_MAX_PIXELS
from siam_keras.runtime.output_paths import check_outputs, same_file
from siam_keras.runtime.run_lock import RunLock
from siam_keras.runtime.uris import is_uri

EXAMPLES = """\
examples:
  # on this machine, two worker processes
  siam score --model export/saved_model/1 --input photos.csv --output scores.csv \\
      --failures failures.csv --direct_num_workers=2 --direct_running_mode=multi_processing

  # Google Cloud Dataflow (pip install 'siam-keras[beam]' 'apache-beam[gcp]' build), from a
  # clone: --setup_file installs siam-keras on the workers
  siam score --model gs://BUCKET/export/saved_model/1 --input 'gs://BUCKET/photos/*.jpg' \\
      --output gs://BUCKET/scores.parquet --failures gs://BUCKET/failures.csv \\
      --runner DataflowRunner --project PROJECT --region europe-west1 \\
      --temp_location gs://BUCKET/tmp --setup_file ./pyproject.toml \\
      --machine_type n2-standard-4

  # Apache Flink, Apache Spark
  siam score --model model.keras --input photos.parquet --output scores.parquet \\
      --runner FlinkRunner --flink_master localhost:8081 --environment_type LOOPBACK
  siam score --model model_float32.tflite --input photos.jsonl --output scores.parquet \\
      --runner SparkRunner --spark_master_url spark://HOST:7077 --environment_type LOOPBACK
"""


class _PipelineArgumentParser(argparse.ArgumentParser):
    """Keeps the options it does not know, Beam's pipeline options, in `pipeline_args`."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, unknown = super().parse_known_args(args, namespace)
        ours = {option for action in self._actions for option in action.option_strings}
        for argument in unknown:  # --top_k 3 or --failure f.csv would be dropped by Beam
            name = argument.split("=", 1)[0]
            close = [option for option in ours if name.startswith("--") and (
                name.replace("_", "-") == option or (len(name) > 4 and option.startswith(name)))]
            if close:
                self.error(f"{name} is not an option of siam score (Beam would ignore it). "
                           f"Expected: {close[0]}")
        namespace.pipeline_args = list(getattr(namespace, "pipeline_args", None) or []) + unknown
        return namespace, []


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "score",
        help="explain many photos on Apache Beam into one table (.parquet or .csv)",
        description=textwrap.fill(
            "Explain a SIAM model's predictions on many photos with Apache Beam (pip install "
            "'siam-keras[beam]'): the workers read and resize the photos, run the model "
            "(loaded once per worker) in batches, and write one row per photo to a Parquet "
            "or CSV file with the columns of `siam explain --table` (every output, every "
            "contribution, the attribute scores, the top-k attributes, latitude/longitude). "
            "A photo that cannot be read or explained is listed in --failures with the "
            "reason and never fails the job; the exit status is 0 when the job ran. Options "
            "this command does not know are Beam's pipeline options, passed to the runner "
            "as they are (--project, --region, --temp_location, --flink_master, ...).", 79),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False)  # so that no Beam option is taken for an abbreviation of ours
    parser.__class__ = _PipelineArgumentParser
    parser.add_argument("--model", required=True,
                        help=MODEL_HELP + "; a local path or a URI the workers can read (gs://...)")
    parser.add_argument("--input", required=True,
                        help="the photos: a manifest (.csv, .tsv, .parquet, .jsonl, .ndjson; only "
                             "its --image-column is needed, relative paths are relative to it), "
                             "a glob pattern ('photos/**/*.jpg', quoted), a folder (searched "
                             "recursively), or a pattern of URIs ('gs://bucket/photos/*.jpg')")
    parser.add_argument("--output", required=True, metavar="FILE",
                        help="the table: one row per explained photo, written as exactly this "
                             "one .parquet or .csv file (replaced if it exists)")
    parser.add_argument("--failures", metavar="FILE", default=None,
                        help="also write the photos that failed to this .csv or .parquet table "
                             "(image, reason): unreadable, not "
                             "an image, too large, an explanation that does not add up, a "
                             "manifest row without a usable image (default: they are logged)")
    parser.add_argument("--explanations", metavar="DIR", default=None,
                        help="also write each photo's explanation JSON (as siam explain writes "
                             "it, attribute maps included) to DIR/<name>.json")
    parser.add_argument("--top-k", type=int, default=8,
                        help="attributes ranked per output in <output>.top_k (default: 8)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="photos per forward pass in each worker (default: 16)")
    parser.add_argument("--runner", default="DirectRunner",
                        help="Beam's runner: DirectRunner (this machine, the default), "
                             "DataflowRunner, FlinkRunner, SparkRunner, ...")
    parser.add_argument("--image-column", default="image",
                        help="a manifest's column naming each photo (default: image)")
    parser.add_argument("--latitude-column", default=None,
                        help="a manifest's latitude column, with --longitude-column: the rows' "
                             "locations fill the table's latitude/longitude (default: each "
                             "photo's EXIF GPS position, when it has one)")
    parser.add_argument("--longitude-column", default=None,
                        help="a manifest's longitude column (with --latitude-column)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="refuse photos larger than this, unread (default: 50000000)")
    parser.add_argument("--max-bytes", type=int, default=100_000_000,
                        help="refuse photos at a URI larger than this many bytes "
                             "(default: 100000000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="LiteRT's CPU threads per worker for a .tflite model (default: 2)")
    parser.set_defaults(pipeline_args=[])
    return parser


def checked_arguments(args):
    """Raises ValueError naming the flag whose value is wrong."""
    positive_ints(**{"--top-k": args.top_k, "--batch-size": args.batch_size,
                     "--max-pixels": args.max_pixels, "--max-bytes": args.max_bytes,
                     "--threads": 1 if args.threads is None else args.threads})
    for flag, path in (("--output", args.output), ("--failures", args.failures)):
        if path is not None:
            checked_table_path(path, flag)
    if (args.latitude_column is None) != (args.longitude_column is None):
        raise ValueError("--latitude-column and --longitude-column go together")


def run(args):
    checked_arguments(args)
    try:
        import apache_beam  # noqa: F401  (only checked here: the pipeline imports it)
    except ImportError:
        print("siam score: error: siam score runs on Apache Beam: pip install "
              "'siam-keras[beam]'", file=sys.stderr)
        return 2
    outputs = {"--output": args.output, "--failures": args.failures}
    check_outputs(outputs, {"--input": args.input, "--model": args.model})
    if (args.explanations is not None and os.path.isdir(args.input)
            and same_file(args.input, args.explanations)):
        raise ValueError(f"--explanations {args.explanations} is the input folder: the JSON "
                         "files would sit among your photos. Choose a folder of its own.")
    with contextlib.ExitStack() as locks:  # one siam score at a time per output
        for path in (args.output, args.failures):
            if path is not None and not is_uri(path):
                locks.enter_context(RunLock(path, "siam score", for_file=True))
        if args.explanations is not None and not is_uri(args.explanations):
            locks.enter_context(RunLock(args.explanations, "siam score"))
        return _score(args, outputs)


def _score(args, outputs):
    from siam_keras.model_files import ModelFile
    from siam_keras.scoring import list_inputs
    from siam_keras.scoring.pipeline import score

    model = ModelFile(args.model)
    items, problems = list_inputs(args.input, args.image_column, args.latitude_column,
                                  args.longitude_column, explanations=args.explanations)
    check_outputs(outputs, {"an input photo": [item.image for item in items]})
    pipeline_args = [f"--runner={args.runner}", *args.pipeline_args]
    print(f"siam score: {len(items)} photos, {model.kind} model {args.model}, {args.runner}"
          + (f" ({len(problems)} manifest rows left out)" if problems else ""), file=sys.stderr)
    summary = score(model, items, args.output, failures=args.failures,
                    explanations=args.explanations, problems=problems, top_k=args.top_k,
                    batch_size=args.batch_size, max_pixels=args.max_pixels,
                    max_bytes=args.max_bytes, num_threads=args.threads,
                    pipeline_args=pipeline_args)
    where = f" (listed in {args.failures})" if args.failures else ""
    print(f"Scored {summary['num_scored']} of {summary['num_images']} photos into {args.output}; "
          f"{summary['num_failed']} failed{where}")
    if args.explanations:
        print(f"Explanations: {os.path.join(args.explanations, '<name>.json')}")
    return 0 if summary["num_scored"] or not summary["num_images"] else 1  # 1: none scored
