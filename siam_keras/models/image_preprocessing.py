"""`ImagePreprocessing`: raw RGB pixels (0-255) to what a backbone expects."""

import keras
from keras import ops

MODES = ("unit", "caffe", "none", "affine")

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
            such as MobileNetV3 and EfficientNetV2 preprocess themselves); `"affine"`
            computes `pixels * scale + offset` (a keras-hub preset's image converter).
        scale, offset: for `"affine"`: a number or one per channel (None: 1 and 0).
    """

    def __init__(self, mode="unit", scale=None, offset=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {list(MODES)}. Received: mode={mode!r}")
        if mode != "affine" and (scale is not None or offset is not None):
            raise ValueError(f"`scale` and `offset` are for mode='affine'. Received: mode={mode!r}")
        self.mode = mode
        self.scale, self.offset = _channels("scale", scale), _channels("offset", offset)

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "unit":
            return images / 255.0
        if self.mode == "caffe":
            centred = images - ops.convert_to_tensor(_CAFFE_MEAN_RGB, self.compute_dtype)
            return ops.flip(centred, axis=-1)
        if self.mode == "affine":
            if self.scale is not None:
                images = images * ops.convert_to_tensor(self.scale, self.compute_dtype)
            if self.offset is not None:
                images = images + ops.convert_to_tensor(self.offset, self.compute_dtype)
        return images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "scale": self.scale,
                "offset": self.offset}


def _channels(name, value):
    """`value` as a list of floats (one, or one per RGB channel), or None."""
    if value is None:
        return None
    try:
        values = [float(v) for v in (value if hasattr(value, "__len__") else [value])]
    except (TypeError, ValueError):
        values = []
    if len(values) not in (1, 3):
        raise ValueError(f"`{name}` must be a number or 3 numbers (one per channel). "
                         f"Received: {name}={value!r}")
    return values
