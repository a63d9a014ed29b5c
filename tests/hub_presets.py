"""Tiny random-weight keras-hub backbones saved as local presets (offline, seconds).

One per family the tests cover: a CNN (ResNet), a ViT (one class token) and DINOv2
(a class token and register tokens). Each preset holds the backbone's config and
weights and an image converter with ImageNet's mean and standard deviation, as the
published presets do.
"""

from pathlib import Path

#: ImageNet's per-channel mean and standard deviation, in [0, 1] units.
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SCALE = [1 / (255 * s) for s in STD]
OFFSET = [-m / s for m, s in zip(MEAN, STD)]

#: The families, by the name `write_preset` takes.
FAMILIES = ("resnet", "vit", "dinov2")


def _resnet(keras_hub, image_size):
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 32],
        stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 1], block_type="basic_block",
        use_pre_activation=False, image_shape=(None, None, 3))
    return backbone, keras_hub.layers.ResNetImageConverter


def _vit(keras_hub, image_size):
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(image_size, image_size, 3), patch_size=8, num_layers=1, num_heads=2,
        hidden_dim=16, mlp_dim=32)
    return backbone, keras_hub.layers.ViTImageConverter


def _dinov2(keras_hub, image_size):
    backbone = keras_hub.models.DINOV2Backbone(
        patch_size=8, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
        num_register_tokens=2, image_shape=(image_size, image_size, 3),
        # Learned at twice the size, as DINOv2's at 518 px: keras-hub interpolates them.
        position_embedding_shape=(2 * image_size, 2 * image_size, 3))
    return backbone, keras_hub.layers.DINOV2ImageConverter


BUILDERS = {"resnet": _resnet, "vit": _vit, "dinov2": _dinov2}


def write_preset(family, folder, image_size=64, seed=0, converter=True):
    """Writes `family`'s tiny backbone and (unless `converter` is False) its image converter
    as a keras-hub preset in `folder`."""
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    backbone, converter_class = BUILDERS[family](keras_hub, image_size)
    folder = Path(folder)
    backbone.save_to_preset(str(folder))
    if converter:
        converter_class(image_size=(image_size, image_size), scale=SCALE,
                        offset=OFFSET).save_to_preset(str(folder))
    return folder
