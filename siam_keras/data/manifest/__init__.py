"""`manifest`: the user's own photos and labels, listed in CSV, TSV, Parquet or JSON Lines files.

`reading` checks a configuration and reads its files into `ManifestRow`s and `RowProblem`s
(`read_manifests`, `fix_classes`), `tables` reads one file's table whatever its format,
`rows` turns one record's cells into a row (the cell rules), `images` decodes the rows'
photos at a model's input size, and `splits` puts it all together for training and
`siam evaluate` (`read_manifest_splits`). No module here imports TensorFlow at import
time (`images` imports it only for a photo given as a URI); `siam_keras.data` exports
the public names lazily.
"""
