"""`siam-train` (or `python -m training`): train SIAM and the baseline from a TOML config."""

import argparse
import errno
import os
import signal
import sys
from pathlib import Path

from siam_keras.runtime.native_logs import import_tensorflow, quiet_library_logs
from siam_keras.runtime.output_folder import printable


def builtin_configs():
    """The configs shipped with the package, by name: `--config demo` works from any folder."""
    return {path.stem: path for path in sorted((Path(__file__).parent / "configs").glob("*.toml"))}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="siam-train",
        allow_abbrev=False,  # --local-processes is removed by name from the processes' own
        description=(
            "Train a SIAM model and the unconstrained baseline, evaluate both on the held-out "
            "split, and write model.keras, history.csv, metrics.json, config.toml and a figure "
            "of attribute maps into --out. An interrupted run restarted with the same "
            "arguments resumes at its last finished epoch."
        ),
        epilog="Example: siam-train --config demo --out runs/demo --set train.epochs=3",
    )
    parser.add_argument("--config", help="TOML config file (tables [data], [data.synthetic_scenes], "
                        "[data.sun_scenic_or_not], [data.manifest], [data.manifest.outputs], [model], "
                        "[train], [train.augmentation], "
                        "[baseline]; omitted keys take their defaults), or the name of one shipped "
                        f"with siam-keras: {', '.join(builtin_configs())}")
    parser.add_argument("--out", default="runs/train", help="output folder (default: runs/train)")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="SECTION.KEY=VALUE",
                        help="override config values, e.g. --set train.epochs=3 model.backbone=resnet50")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="train under mixed_float16 (for GPUs; about 5x slower on CPU)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start over in --out: replaces a finished run, or an unfinished one "
                             "with another config (both refused otherwise); removes only the "
                             "files a run writes, nothing else in the folder")
    jobs = parser.add_argument_group(
        "several processes (train.distribution = \"multi_host\", JAX backend; docs/devices.md)",
        "Every process runs siam-train with the same config, data and --out; process 0 "
        "writes --out. Left out, these come from KERAS_DISTRIBUTION_JOB_ADDRESSES, "
        "KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID, or JAX detects "
        "them (SLURM, Open MPI, Kubernetes, Cloud TPU).")
    jobs.add_argument("--coordinator", metavar="HOST:PORT",
                      help="address of process 0, which every process connects to")
    jobs.add_argument("--num-processes", type=int, metavar="N", help="processes in the job")
    jobs.add_argument("--process-id", type=int, metavar="I", help="this process, 0 to N - 1")
    jobs.add_argument("--local-processes", type=int, metavar="N",
                      help="start N processes of this job on this machine (127.0.0.1, one GPU "
                           "each where there are GPUs) and wait for them: for testing, and for "
                           "a several-GPU machine without a cluster manager")
    parser.add_argument("--keep-unhealthy", action="store_true",
                        help="exit 0 even when the kept SIAM model fails its health checks "
                             "(a constant output, a dead attribute, non-finite values: see "
                             "metrics.json's health). Without it such a run writes everything, "
                             "says what to change, and exits with status 3")
    return parser


def _without_launcher(argv):
    """`argv` without --local-processes (what each started process is given)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--local-processes":
            skip = True
        elif not arg.startswith("--local-processes="):
            kept.append(arg)
    return kept


def main(argv=None):
    args = build_parser().parse_args(argv)
    # The libraries' start-up and INFO lines drown the progress lines of a command: Keras
    # imports TensorFlow (its backend), which is imported first without them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_library_logs()
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import_tensorflow()
    from training.config import ConfigError, load_config
    from training.distribution import check_backend

    overrides = list(args.overrides)
    if args.mixed_precision:
        overrides.append("train.mixed_precision=true")
    path = args.config
    if path is not None and not Path(path).is_file() and path in builtin_configs():
        path = builtin_configs()[path]
    try:
        config = load_config(path, overrides)
        check_backend(config.train)  # before TensorFlow is imported, under any backend
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 2
    if config.train.distribution == "multi_host":
        if args.local_processes is not None and args.process_id is not None:
            print("error: --local-processes starts the processes and gives each its "
                  "--process-id: pass one or the other. Received: --local-processes "
                  f"{args.local_processes}, --process-id {args.process_id}", file=sys.stderr)
            return 2
        if args.local_processes is not None:
            from training.launcher import launch

            return launch(args.local_processes, _without_launcher(argv))
        from training import multi_host

        try:
            multi_host.initialize(args.coordinator, args.num_processes, args.process_id)
        except (ValueError, RuntimeError) as error:
            print(f"error: could not join the multi_host job (from --coordinator, "
                  "--num-processes and --process-id, the KERAS_DISTRIBUTION_* variables, or "
                  f"the cluster's own): {printable(error)}", file=sys.stderr)
            return 2
        # Stopped by the launcher or the cluster: leave through Python, so that a
        # process's scratch copy of the run folder is removed.
        signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    elif (args.local_processes is not None or args.coordinator or args.num_processes is not None
          or args.process_id is not None):
        print("error: --local-processes, --coordinator, --num-processes and --process-id are for "
              "train.distribution = \"multi_host\" (set it with --set). Received: "
              f"train.distribution = {config.train.distribution!r}", file=sys.stderr)
        return 2
    from training.health import UnhealthyModel
    from training.run import run

    try:
        run(config, args.out, overwrite=args.overwrite, keep_unhealthy=args.keep_unhealthy)
    except UnhealthyModel as error:
        print(f"error: {printable(error)}", file=sys.stderr)
        return 3
    except (ValueError, OSError) as error:  # OSError: missing files, a full disk, a lock held
        print(f"error: {printable(error)}", file=sys.stderr)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            # h5py keeps handles on the weights file it could not write, and freeing them
            # when the interpreter ends crashed it (SIGSEGV, exit 139). Every file the run
            # finished is closed and committed: leave without that clean-up.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)
        return 2
    return 0
