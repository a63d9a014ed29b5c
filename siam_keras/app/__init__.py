"""The folder app: explaining photo files into an `--out` folder, one JSON file and one
figure per photo, a `summary.json`, a table and a map of the photos' locations, each file
failing alone, with progress. `siam explain` (Keras) and `siam-edge explain` (LiteRT) are
its two front ends; it builds on `siam_keras.runtime` (reading, explaining, writing) and,
like it, needs NumPy and Pillow only (the edge wheel ships it)."""
