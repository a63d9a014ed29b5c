"""The export pipeline: `siam-export --model M.keras --out EXPORT_DIR` (or `python -m export`).

SavedModel versions for TensorFlow Serving, TFLite variants checked for builtin ops
and measured against the Keras model, the sidecar the runtimes read, and a wheel
of the edge runtime. Imports `siam_keras`, never `training`.
"""
