"""The runtime layer: everything that needs only NumPy and Pillow.

Reading images (`images`), the model sidecar (`sidecar`), the exact decomposition of
contributions (`decomposition`), the explanation object and its JSON (`explanation`),
intervention arithmetic on maps (`intervention`), pooling and upsampling matrices
(`adaptive_pooling`, `upsampling`), the backbones' feature grids (`feature_grid`),
atomic writes (`atomic`), the sign colours of figures (`colours`), timing side by
side (`benchmarking`), what each kind of output is (`output_kinds`), argument checks
(`argument_validation`), the head's choices (`head_choices`), explaining photo files
(`file_explanations`) and the `--out` folder's rules (`output_folder`).

Layers above it (Keras models, explainers, pipelines) import it; it imports none of
them, nor TensorFlow or Keras, so the edge runtime (`siam_keras.edge`) and its wheel
are this package, the folder app (`siam_keras.app`), `siam_keras.edge` and
`siam_keras.vocabulary`.
"""
