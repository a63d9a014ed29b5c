"""The backbones' names and the feature grid each gives, without Keras or TensorFlow.

Config validation needs the grid (a template may not be finer than it) before
anything heavy is imported; `siam_keras.models.backbones` builds the networks.
"""

import math

BACKBONES = (
    "small_cnn",
    "resnet50",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_v2_b0",
)

#: Channels and strides of the small CNN's three stages (two 3x3 convolutions each).
#: Output stride 4: a 64 px image gives a 16 x 16 grid, cells of 6% of the side like
#: the paper's 15 x 15 grid on 450 px (stride 8 gave 8 x 8 and maps too coarse to
#: point inside small objects: pointing game 0.81 against 0.92 on the demo).
SMALL_CNN_FILTERS = (16, 32, 64)
SMALL_CNN_STRIDES = (2, 2, 1)
#: The smallest input side a backbone is built for (and `data.image_size` may take): the
#: deepest backbones divide the side by 32 before their last stage.
MIN_IMAGE_SIZE = 32


def feature_grid_size(backbone, image_size):
    """The side of the feature grid `backbone` gives for `image_size` px, without building it.

    Arithmetic on each backbone's strides and paddings (checked against the built
    models in the tests): the small CNN's "same" convolutions halve with rounding up;
    ResNet-50 pads its 7 x 7 stem by 3 and its max pooling by 1, then halves with 1 x 1
    stride-2 convolutions; the MobileNetV3 and EfficientNetV2 stems and blocks pad to
    halve with rounding up, five times. A keras-hub backbone's grid is known only once
    it is built (`backbone.output_shape`).
    """
    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}. Choose one of: {', '.join(BACKBONES)}")
    side = int(image_size)
    if backbone == "small_cnn":
        for stride in SMALL_CNN_STRIDES:
            side = math.ceil(side / stride)
        return side
    if backbone == "resnet50":
        side = (side + 2 * 3 - 7) // 2 + 1  # conv1: 7 x 7, stride 2, padding 3
        side = (side + 2 * 1 - 3) // 2 + 1  # pool1: 3 x 3, stride 2, padding 1
        for _ in range(3):  # conv3, conv4, conv5: a 1 x 1 stride-2 convolution each
            side = (side - 1) // 2 + 1
        return side
    for _ in range(5):
        side = math.ceil(side / 2)
    return side
