"""The `siam` command: `siam explain`, `siam evaluate`, `siam download-scenic-or-not`,
`siam example-photos` (see `siam --help`)."""

import argparse
import os
import sys

from siam_keras.cli import download, evaluate, example_photos, explain, score
from siam_keras.runtime.native_logs import import_tensorflow, quiet_library_logs
from siam_keras.runtime.output_folder import printable

#: The commands that load a model with TensorFlow (imported first, without its chatter).
USES_TENSORFLOW = ("explain", "evaluate", "score")
COMMANDS = {"explain": explain, "evaluate": evaluate, "download-scenic-or-not": download,
            "example-photos": example_photos, "score": score}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="siam",
        description="SIAM models that explain what they see, where, and how much it matters.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    # The libraries' start-up and INFO lines drown the progress lines of a command.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_library_logs()
    if args.command in USES_TENSORFLOW and os.environ.get("KERAS_BACKEND", "tensorflow") \
            == "tensorflow":
        import_tensorflow()
    try:
        return COMMANDS[args.command].run(args)
    # OSError: missing files, a full disk, ...; ImportError: an optional package missing.
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"siam {args.command}: error: {printable(error)}", file=sys.stderr)
        return 2
