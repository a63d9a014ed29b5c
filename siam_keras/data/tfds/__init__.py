"""`tfds`: the TensorFlow Datasets builders, and the readers of the datasets they build.

`registration.register_tfds_builders()` defines the builders (`*_builder.py`:
`synthetic_scenes`, `sun_attributes`, `scenic_or_not`), which imports TFDS; `common` is
what the two manual-download builders share. The readers of SUN Attributes
(`sun_attributes`, `sun_attribute_mapping`) and of ScenicOrNot (`scenic_or_not`), and
`manual_download` (checking a manual folder, the hashed split) live here too, although
they import neither TFDS nor TensorFlow: the builders are what uses them (`siam
download-scenic-or-not` also reads `votes.tsv` with `scenic_or_not.read_votes`), and
none of them downloads anything. Importing this package imports nothing else.
"""
