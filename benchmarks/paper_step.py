"""One training step of the paper's preset, measured here, and the whole run estimated.

Builds `training/configs/sun_son_resnet50.toml`'s model (ResNet-50 at 450 px, 33
attributes; random weights: the step costs the same) and times `train_on_batch` on
one mixed batch (10 SUN + 10 ScenicOrNot images, masked targets, the paper's loss
weighting), float32 on this machine's CPU. It also counts the forward pass' FLOPs.
The full run is 30 epochs x 500 steps, and after each epoch the validation of both
datasets' validation splits (forward passes only, timed here too: the ScenicOrNot
split alone is about 21,700 images); on a GPU (none here) it is estimated from
NVIDIA's published ResNet-50 training throughput, scaled by the pixel count, with a
forward pass costing a third of a training step per image (one of its three passes).

Usage: python -m benchmarks.paper_step [--steps 3]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Validation images per epoch: 10% of ScenicOrNot's ~217,000 photos and of SUN's 14,340.
VALIDATION_IMAGES = 21_700 + 1_434
#: NVIDIA DeepLearningExamples, TensorFlow ResNet-50 v1.5, training, 224 px, one GPU,
#: mixed precision + XLA, batch 256 (TensorFlow/Classification/ConvNets/resnet50v1.5).
PUBLISHED_224PX = {"A100 40GB": 2375.0, "V100 16GB": 1270.0}


def forward_gflops(model, size):
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    function = tf.function(lambda x: model(x, training=False))
    graph = function.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32)).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph, options=options).total_float_ops / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps (default: 3)")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from siam_keras import vocabulary
    from siam_keras.models.dtype_policy import rewrapped
    from siam_keras.vocabulary import PAPER_ATTRIBUTES
    from training.builders import siam_model_from_config, trained_as
    from training.config import load_config

    config = load_config("training/configs/sun_son_resnet50.toml",
                         ['model.backbone_weights=""', "train.mixed_precision=false"])
    size, batch = config.data.image_size, config.train.batch_size
    model = siam_model_from_config(config, PAPER_ATTRIBUTES, vocabulary.PAPER_OUTPUTS)
    trained = rewrapped(model, trained_as(config, model))
    trained.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2 * batch, size, size, 3)).astype("float32")
    k = len(PAPER_ATTRIBUTES)
    sun, son = np.r_[np.ones(batch), np.zeros(batch)], np.r_[np.zeros(batch), np.ones(batch)]
    targets = {vocabulary.ATTRIBUTE_SCORES: (rng.integers(0, 4, (2 * batch, k)) / 3).astype("float32"),
               **{name: rng.uniform(1, 10, 2 * batch).astype("float32")
                  for name in vocabulary.PAPER_OUTPUTS}}
    weights = {vocabulary.ATTRIBUTE_SCORES: sun.astype("float32"),
               **{name: son.astype("float32") for name in vocabulary.PAPER_OUTPUTS}}
    trained.train_on_batch(images, targets, sample_weight=weights)  # tracing
    seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        trained.train_on_batch(images, targets, sample_weight=weights)
        seconds.append(time.perf_counter() - start)
    step = statistics.median(seconds)
    model.predict_on_batch(images[:batch])  # tracing
    forward = []
    for _ in range(args.steps):
        start = time.perf_counter()
        model.predict_on_batch(images[:batch])
        forward.append((time.perf_counter() - start) / batch)
    per_image = statistics.median(forward)
    gflops = forward_gflops(model, size)
    epochs, steps = config.train.epochs, config.train.epochs * config.train.steps_per_epoch
    seen = steps * 2 * batch
    validation = epochs * VALIDATION_IMAGES * per_image
    rows = [("measured here (2 CPU cores, float32)", ""),
            (f"one step: {batch} + {batch} images at {size} px", f"{step:.1f} s"),
            ("validation forward pass, per image", f"{per_image:.2f} s"),
            ("forward pass, one image", f"{gflops:.1f} GFLOPs"),
            (f"training: {epochs} x {config.train.steps_per_epoch} steps, {seen:,} images",
             f"{steps * step / 3600:.0f} h on this CPU"),
            (f"validation: {epochs} x {VALIDATION_IMAGES:,} images",
             f"{validation / 3600:.0f} h on this CPU"),
            ("the whole run", f"{(steps * step + validation) / 3600:.0f} h on this CPU")]
    scale = (size / 224) ** 2
    for gpu, rate in PUBLISHED_224PX.items():
        per_second = rate / scale
        training = seen / per_second
        checks = epochs * VALIDATION_IMAGES / (3 * per_second)
        rows.append((f"estimated on one {gpu} (published {rate:.0f} img/s at 224 px, / "
                     f"{scale:.2f} for {size} px): training + validation",
                     f"{training / 60:.0f} + {checks / 60:.0f} min"))
    width = max(len(r[0]) for r in rows)
    print("\n".join(f"{a.ljust(width)}  {b}" for a, b in rows))


if __name__ == "__main__":
    main()
