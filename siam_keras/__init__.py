"""siam-keras: Semantically Interpretable Activation Maps for Keras.

Importing this package is cheap: TensorFlow and Keras load only when a submodule
that needs them (layers, models, training helpers) is imported.
"""

__version__ = "0.2.0"
