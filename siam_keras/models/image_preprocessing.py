"""`ImagePreprocessing`: raw RGB pixels (0-255) to what a backbone expects."""

import keras
from keras import ops

MODES = ("unit", "caffe", "none")

# ImageNet channel means in RGB order, as Keras' "caffe" preprocessing uses them.
_CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)


@keras.saving.register_keras_serializable(package="siam_keras")
class ImagePreprocessing(keras.layers.Layer):
    """Maps raw RGB pixels in [0, 255] to a backbone's input range, inside the model.

    Keeping this inside the model means that serving, TFLite and the edge runtime
    all feed plain pixels.

    Args:
        mode: `"unit"` divides by 255; `"caffe"` (ResNet-50) reverses RGB to BGR and
            subtracts the ImageNet means; `"none"` passes pixels through (backbones
            such as MobileNetV3 and EfficientNetV2 preprocess themselves).
    """

    def __init__(self, mode="unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {list(MODES)}. Received: mode={mode!r}")
        self.mode = mode

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "unit":
            return images / 255.0
        if self.mode == "caffe":
            centred = images - ops.convert_to_tensor(_CAFFE_MEAN_RGB, self.compute_dtype)
            return ops.flip(centred, axis=-1)
        return images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
