"""`TokenGrid`: a ViT's tokens laid back on the grid of the patches they were cut from."""

import keras
from keras import ops

from siam_keras.runtime.argument_validation import positive_int


@keras.saving.register_keras_serializable(package="siam_keras")
class TokenGrid(keras.layers.Layer):
    """(B, leading + height * width, C) tokens to the (B, height, width, C) grid.

    Drops the `leading` tokens (a ViT's class token, DINOv2's class and register
    tokens) and lays the rest out row by row, the order patch embeddings are made in.

    Args:
        leading: the tokens before the patches (0 or more).
        height, width: the patch grid (`image_size // patch_size` each).
    """

    def __init__(self, leading, height, width, **kwargs):
        super().__init__(**kwargs)
        self.leading = positive_int("leading", leading, minimum=0)
        self.height = positive_int("height", height)
        self.width = positive_int("width", width)

    def call(self, tokens):
        patches = tokens[:, self.leading:, :]
        return ops.reshape(patches, (-1, self.height, self.width, ops.shape(tokens)[-1]))

    def compute_output_shape(self, input_shape):
        expected = self.leading + self.height * self.width
        if input_shape[1] is not None and input_shape[1] != expected:
            raise ValueError(f"TokenGrid({self.leading}, {self.height}, {self.width}) takes "
                             f"{expected} tokens. Received: input_shape={input_shape}")
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "leading": self.leading, "height": self.height,
                "width": self.width}
