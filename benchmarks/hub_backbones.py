"""keras-hub backbone families under the paper's SIAM head, at the paper's 450 px.

For each family, the published preset's architecture (its constructor arguments; random
weights, so nothing is downloaded) is saved as a local preset with ImageNet's image
converter and built as `model.backbone = "hub:<folder>"` with the paper's head (33
attributes, 2 outputs, G = 2 templates of min(15, grid) cells, a 2-cell border). Printed:
the feature grid, the parameter count, and the forward time of the whole model, of the
backbone alone and of the head alone on its features (batch 1, medians of interleaved
rounds), with the head's share of the whole.

Usage (from the repository root): python -m benchmarks.hub_backbones [--repeats 5]
    [--image-size 450] [--families resnet_50 densenet_121 vit_base_16 dinov2_small]
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

#: family: (the keras-hub preset it stands for, backbone class, constructor arguments).
FAMILIES = {
    "resnet_50": ("resnet_50_imagenet", "ResNetBackbone", dict(
        input_conv_filters=[64], input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512], stackwise_num_blocks=[3, 4, 6, 3],
        stackwise_num_strides=[1, 2, 2, 2], block_type="bottleneck_block",
        use_pre_activation=False, image_shape=(None, None, 3))),
    "densenet_121": ("densenet_121_imagenet", "DenseNetBackbone", dict(
        stackwise_num_repeats=[6, 12, 24, 16], image_shape=(None, None, 3))),
    "vit_base_16": ("vit_base_patch16_224_imagenet", "ViTBackbone", dict(
        patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)),
    "dinov2_small": ("dinov2_small", "DINOV2Backbone", dict(
        patch_size=14, num_layers=12, hidden_dim=384, num_heads=6, intermediate_dim=1536,
        position_embedding_shape=(518, 518, 3))),
}


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def write_family_preset(family, image_size, folder):
    """Saves `family`'s architecture (random weights) and an ImageNet converter as a preset."""
    import keras_hub

    _, class_name, arguments = FAMILIES[family]
    if "image_shape" not in arguments:
        arguments = {**arguments, "image_shape": (image_size, image_size, 3)}
    getattr(keras_hub.models, class_name)(**arguments).save_to_preset(folder)
    keras_hub.layers.ImageConverter(
        image_size=(image_size, image_size), scale=[1 / (255 * s) for s in STD],
        offset=[-m / s for m, s in zip(MEAN, STD)]).save_to_preset(folder)
    return folder


def family_size(family, image_size):
    """The input side `family` is measured at: a ViT's must be a multiple of its patch
    size (ViT refuses another; DINOv2 would drop the remainder), so 450 px becomes 448."""
    patch = FAMILIES[family][2].get("patch_size")
    return image_size - image_size % patch if patch else image_size


def measure(family, image_size, repeats, folder):
    """{grid, params, full, backbone, head (ms)} of `family` under the paper's head."""
    import numpy as np
    import tensorflow as tf

    from siam_keras.layers import SIAMLayer
    from siam_keras.models import SIAMModel, build_backbone
    from siam_keras.runtime.benchmarking import interleaved_rounds
    from siam_keras.vocabulary import PAPER_ATTRIBUTES

    write_family_preset(family, image_size, folder)
    backbone = build_backbone(f"hub:{folder}", image_size)
    grid = min(backbone.output_shape[1:3])  # the head's templates fit the grid it gives
    model = SIAMModel(backbone, SIAMLayer(list(PAPER_ATTRIBUTES), num_templates=2,
                                          template_size=min(15, grid),
                                          border_size=min(2, (grid - 1) // 2), name="siam_head"))
    images = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, image_size, image_size, 3)),
                         tf.float32)
    features = model.backbone(images)
    calls = {
        "full": tf.function(lambda: model(images, training=False)),
        "backbone": tf.function(lambda: model.backbone(images, training=False)),
        "head": tf.function(lambda: model.siam_head(features)),
    }
    run = {name: (lambda c=call: tf.nest.map_structure(lambda t: t.numpy(), c()))
           for name, call in calls.items()}
    seconds = interleaved_rounds(run, repeats)
    medians = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
    height, width = model.backbone.output_shape[1:3]
    return {"grid": f"{height} x {width}", "params": model.count_params(), **medians}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds of each call")
    parser.add_argument("--image-size", type=int, default=450, help="input side (paper: 450)")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    args = parser.parse_args(argv)
    from benchmarks.machine import cpu_description

    print(cpu_description())
    rows = [("family (preset)", "px", "grid", "params", "whole ms", "backbone ms", "head ms",
             "head share")]
    for family in args.families:
        start = time.perf_counter()
        size = family_size(family, args.image_size)
        with tempfile.TemporaryDirectory() as folder:
            m = measure(family, size, args.repeats, os.path.join(folder, family))
        rows.append((f"{family} ({FAMILIES[family][0]})", size, m["grid"], f"{m['params']:,}",
                     f"{m['full']:.0f}", f"{m['backbone']:.0f}", f"{m['head']:.1f}",
                     f"{100 * m['head'] / m['full']:.1f}%"))
        print(f"  {family}: measured in {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\nSIAM on keras-hub backbones at {args.image_size} px, batch 1, float32, medians of "
          f"{args.repeats} interleaved rounds")
    print(_table(rows))


if __name__ == "__main__":
    main()
