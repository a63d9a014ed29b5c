#!/usr/bin/env bash
# Runs `python -m benchmarks.gpu` on Keras' JAX backend on a GPU machine that has JAX
# (with CUDA) but neither TensorFlow nor Keras, from a copy of this repository.
#
# Keras is installed from wheels brought along (pip install --no-deps, into a temporary
# folder put on PYTHONPATH; nothing is fetched, nothing installed system-wide). Keras
# needs, besides its wheel: numpy, absl-py, rich, h5py, ml-dtypes, packaging and optree
# (which needs typing-extensions); this script checks them. This workplace's GPU image
# has all but optree: bring its wheel too (namex is optional). The project itself needs nothing more (numpy, and tomllib:
# Python 3.11 or newer); it is run from the repository, not installed.
#
# Fetch the wheels where pip works, for the GPU machine's Python (here 3.12), into an
# ignored folder (.whl) that travels with the repository:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 -d .whl keras==3.15.1 optree
# then, on the GPU machine, from the repository's root:
#   benchmarks/gpu_machine.sh [--smoke] [--models paper demo] [--steps 50] [--json out.json]
# (WHEELS=folder to read the wheels elsewhere, PYTHON=interpreter, default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}

ls "$WHEELS"/keras-*.whl >/dev/null 2>&1 || {
    echo "No keras-*.whl in $WHEELS: fetch it first (see the comment at the top of $0)." >&2
    exit 2
}
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
"$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --target "$site" \
    "$WHEELS"/*.whl
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" KERAS_BACKEND=jax

"$PYTHON" - <<'EOF'
import importlib.util
import sys

needed = {"jax": "jax", "numpy": "numpy", "absl": "absl-py", "rich": "rich", "h5py": "h5py",
          "ml_dtypes": "ml-dtypes", "packaging": "packaging", "optree": "optree",
          "typing_extensions": "typing-extensions"}
missing = [pip for module, pip in needed.items() if importlib.util.find_spec(module) is None]
if missing:
    sys.exit(f"Missing on this machine: {', '.join(missing)}. Bring their wheels (see the top of benchmarks/gpu_machine.sh).")
if sys.version_info < (3, 11):
    sys.exit(f"benchmarks.gpu needs Python 3.11 or newer (tomllib). Received: {sys.version}")
import jax
import keras

print(f"Keras {keras.__version__}, JAX {jax.__version__} on {jax.devices()}", flush=True)
EOF
exec "$PYTHON" -m benchmarks.gpu "$@"
