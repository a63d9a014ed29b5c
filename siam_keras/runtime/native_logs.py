"""Quiet commands: the libraries' start-up chatter kept out of a command's output.

Importing TensorFlow and starting its devices writes to the process' stderr from C++
before any Python logging is set up, whatever `TF_CPP_MIN_LOG_LEVEL` says: on a machine
without a GPU, `failed call to cuInit: ... CUDA error (303)` (an E-level line that is not
an error) and half a dozen lines like it. `import_tensorflow` imports it with the
process' stderr (file descriptor 2) sent to a temporary file, then writes back every line
that is not such chatter (`CHATTER`), so real errors still show. `quiet_library_logs`
sets the Python loggers of Apache Beam and absl to warnings; LiteRT's interpreters are
made inside `filtered_stderr` too.

`SIAM_VERBOSE=1` in the environment turns both off: everything is shown as it comes.
"""

import contextlib
import importlib
import importlib.util
import logging
import os
import re
import sys
import tempfile

#: Lines TensorFlow and XLA print while they start, on every machine without a GPU.
CHATTER = re.compile(
    r"cuda_platform\.cc|cudart_stub\.cc|cuda_executor|cuda_dnn|cuda_fft|cuda_blas"
    r"|cpu_feature_guard\.cc|computation_placer|All log messages before absl::InitializeLog"
    r"|This TensorFlow binary is optimized|To enable the following instructions"
    r"|oneDNN custom operations are on|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|TF-TRT Warning|Could not find cuda drivers|failed call to cuInit"
    r"|Created TensorFlow Lite XNNPACK delegate")
#: Python loggers whose INFO lines are the libraries', not the user's.
LIBRARY_LOGGERS = ("apache_beam", "absl", "tensorflow", "jax._src")
#: Packages whose warnings to the root logger are about themselves, not the user's work.
LIBRARY_PACKAGES = ("apache_beam",)


def verbose():
    """Whether `SIAM_VERBOSE` asks for every line."""
    return os.environ.get("SIAM_VERBOSE", "").strip() not in ("", "0", "false", "no")


@contextlib.contextmanager
def filtered_stderr():
    """Inside, whatever is written to file descriptor 2 (C++ included) is held; at the
    end, every line that is not `CHATTER` is written to stderr."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode("utf-8", errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not CHATTER.search(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


def import_tensorflow():
    """Imports TensorFlow and starts its devices without their chatter (module
    docstring); nothing when TensorFlow is not installed (the edge runtime: this module
    never imports it by name) or is imported already."""
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        importlib.import_module("tensorflow").config.list_physical_devices()


def _not_library_chatter(record):
    """False for a warning a library logs to the root logger about itself (Apache Beam's
    "apitools not found", "Resource module is not available")."""
    return record.levelno >= logging.ERROR or not any(
        f"{os.sep}{package}{os.sep}" in (record.pathname or "") for package in LIBRARY_PACKAGES)


def quiet_library_logs():
    """The libraries' Python loggers at WARNING, and their warnings to the root logger
    dropped (unless `SIAM_VERBOSE`)."""
    if verbose():
        return
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    if _not_library_chatter not in root.filters:
        root.addFilter(_not_library_chatter)
