"""Splitting a SIAM or baseline model at its backbone features, for post-hoc methods."""

import keras

#: The name of the identity layer that marks the features in `with_feature_layer`.
FEATURE_LAYER = "backbone_features"


def feature_tensor(model):
    """The model's backbone feature map (B, h, w, C): what CAM methods explain.

    That is the input of the SIAM head, or of the baseline's global pooling (the
    last convolutional features, as Grad-CAM prescribes): `model.feature_layer`.
    """
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
