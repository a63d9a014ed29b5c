"""Named configurations of SIAM models."""

from siam_keras import vocabulary
from siam_keras.vocabulary import PAPER_ATTRIBUTES

PRESETS = {
    # Marcos, Lobry, Tuia 2019: ResNet-50 at 450 px (a 15 x 15 grid), 33 attributes,
    # G = 2 templates of 15 x 15 per attribute and output, 2-cell border.
    "siam_paper": {
        "attribute_names": list(PAPER_ATTRIBUTES),
        "output_names": list(vocabulary.PAPER_OUTPUTS),
        "backbone": "resnet50",
        "image_size": 450,
        "head": "templates",
        "num_templates": 2,
        "template_size": 15,
        "border_size": 2,
    },
}


def preset_arguments(name, **overrides):
    """The `build_siam_model` arguments of a preset, with overrides applied."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Choose one of: {', '.join(PRESETS)}")
    return {**PRESETS[name], **overrides}
