"""`ModelExplainer`: what every explainer of a Keras model shares.

As tf-keras-vis' `ModelVisualization`: the model is given at construction, the
explainer is called on images. The base checks the model and the images, batches
them, and splits the model at its backbone features (what CAM methods explain, and
where SIAM's head begins).
"""

import keras

from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.images import pixel_batch

#: The name of the identity layer that marks the features in `with_feature_layer`.
FEATURE_LAYER = "backbone_features"


def feature_tensor(model):
    """The model's backbone feature map (B, h, w, C): the input of the SIAM head, or of
    the baseline's global pooling (the last convolutional features, as Grad-CAM
    prescribes): `model.feature_layer`'s input."""
    layer = getattr(model, "feature_layer", None)
    if layer is None:
        raise ValueError(
            f"Model {model.name!r} is a {type(model).__name__}: only a SIAMModel or a "
            "BaselineModel says where its backbone features are (`feature_layer`).")
    return layer.input


def with_feature_layer(model, output_key=None):
    """The same model (shared weights) with the features passing through a top-level
    `Identity` layer named `FEATURE_LAYER`.

    Tools that look a layer up by name and read `layer.output` (tf-keras-vis) cannot
    see inside a nested backbone model; this gives them a flat one.

    Args:
        model: a SIAM or baseline model.
        output_key: if given, the new model returns only `model.output[output_key]`.
    """
    features = feature_tensor(model)
    backbone = keras.Model(model.input, features)
    head = keras.Model(features, model.output)
    images = keras.Input(model.input_shape[1:], name="image")
    outputs = head(keras.layers.Identity(name=FEATURE_LAYER)(backbone(images)))
    if output_key is not None:
        outputs = outputs[output_key]
    return keras.Model(images, outputs, name=f"{model.name}_with_features")


class ModelExplainer:
    """The base of `SIAMExplainer`, `GradCAM` and `GradCAMPlusPlus`; each subclass is
    called on images (`__call__`) and documents what it returns.

    Args:
        model: a `SIAMModel` or `BaselineModel` (`siam_keras.models`) taking raw pixels.
        batch_size: images per pass.

    Attributes:
        model, batch_size, image_size: as given and as the model takes them.
        output_names: the model's named outputs; attribute_names: its attributes (SIAM
            models) or ().
    """

    def __init__(self, model, batch_size=32):
        if not isinstance(model, keras.Model) or not hasattr(model, "feature_layer"):
            raise TypeError(f"An explainer needs a SIAMModel or a BaselineModel. Received: "
                            f"{type(model).__name__}")
        self.model, self.batch_size = model, positive_int("batch_size", batch_size)
        self.image_size = tuple(model.image_size)
        self.output_names = tuple(model.named_outputs)
        self.attribute_names = tuple(getattr(model, "attribute_names", ()))

    def pixels(self, images):
        """(B, H, W, 3) float32 pixels at the model's size, or a ValueError/TypeError."""
        return pixel_batch(images, self.image_size)

    def batches(self, images):
        """Slices of `batch_size` images; no images are one empty batch (the model maps
        it to empty outputs of the right shapes)."""
        if len(images) == 0:
            return [images]
        return [images[i : i + self.batch_size] for i in range(0, len(images), self.batch_size)]

    @property
    def features(self):
        """The model's backbone feature map (a symbolic tensor of its graph)."""
        return feature_tensor(self.model)
