"""Benchmarks of the core, from one run (side by side, interleaved, on this machine).

1. Training throughput of the demo model (small CNN SIAM, 64 px, batch 32) fed by
   the training tf.data pipeline (uint8 in memory, batched augmentation on tf.data
   threads) vs. fed from in-memory float32 tensors (no augmentation at all).
2. The SIAM head's share of the forward time of the resnet50 SIAM model at 450 px
   (the paper's preset): full model vs. backbone alone vs. head alone.

Usage (from the repository root): python -m benchmarks.core [--images 2048] [--repeats 3] [--resnet-batch 2]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def training_throughput(num_images, repeats):
    import keras
    import tensorflow as tf

    from training import datasets
    from training.builders import siam_model_from_config
    from training.config import load_config
    from training.losses import siam_losses

    config = load_config("training/configs/demo.toml")
    scenes = datasets.synthetic_scenes(config.data)
    split = scenes.generate("train", num_images)
    outputs = list(scenes.output_names)
    targets, weights = datasets.targets_and_weights(split, outputs, True)
    model = siam_model_from_config(config, scenes.attribute_names, outputs)
    model.compile(keras.optimizers.Adam(config.train.learning_rate), loss=siam_losses(outputs))
    batch = config.train.batch_size
    steps = num_images // batch
    pipeline = datasets.make_dataset(split["image"], targets, weights, batch, True,
                                     config.train).dataset()
    in_memory = tf.constant(split["image"].astype("float32"))

    def run_pipeline():
        model.fit(pipeline, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)

    def run_in_memory():
        model.fit(in_memory, targets, sample_weight=weights, batch_size=batch, epochs=1, verbose=0)

    run_pipeline(), run_in_memory()  # warm-up: tracing
    times = {"tf.data pipeline (augmented)": [], "in-memory tensors": []}
    for _ in range(repeats):
        for name, fn in (("tf.data pipeline (augmented)", run_pipeline), ("in-memory tensors", run_in_memory)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    steps_images = (num_images // batch) * batch
    rates = {name: steps_images / statistics.median(t) for name, t in times.items()}
    ratio = rates["tf.data pipeline (augmented)"] / rates["in-memory tensors"]
    rows = [("feed", "images/s (median of %d epochs)" % repeats)]
    rows += [(name, f"{rate:.0f}") for name, rate in rates.items()]
    return _table(rows), ratio


def head_share(batch, repeats):
    import numpy as np
    import tensorflow as tf

    from siam_keras.models import build_siam_model_from_preset, get_siam_layer

    model = build_siam_model_from_preset("siam_paper")
    backbone = model.get_layer("resnet50")
    head = get_siam_layer(model)
    images = tf.constant(np.random.default_rng(0).random((batch, 450, 450, 3)).astype("float32") * 255)
    features = backbone(images)
    full_fn = tf.function(lambda x: model(x, training=False))
    backbone_fn = tf.function(lambda x: backbone(x, training=False))
    head_fn = tf.function(lambda f: head(f))
    for fn, arg in ((full_fn, images), (backbone_fn, images), (head_fn, features)):
        fn(arg)  # trace
    times = {"full model": [], "backbone only": [], "head only": []}
    for _ in range(repeats):
        for name, fn, arg in (("full model", full_fn, images), ("backbone only", backbone_fn, images),
                              ("head only", head_fn, features)):
            start = time.perf_counter()
            tf.nest.map_structure(lambda t: t.numpy(), fn(arg))
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    share = medians["head only"] / medians["full model"]
    rows = [("forward pass, batch %d at 450 px" % batch, "ms (median of %d)" % repeats)]
    rows += [(name, f"{1000 * m:.1f}") for name, m in medians.items()]
    return _table(rows), share


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2048, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions of each")
    parser.add_argument("--resnet-batch", type=int, default=2, help="batch of the 450 px forward")
    args = parser.parse_args(argv)
    print("Training throughput of the demo model (small CNN SIAM, 64 px, batch 32)")
    table, ratio = training_throughput(args.images, args.repeats)
    print(table)
    print(f"pipeline / in-memory throughput: {ratio:.3f} (pipeline cost {100 * (1 - ratio):.1f}%)\n")
    print("SIAM head's share of the resnet50 SIAM model's forward time (paper preset)")
    table, share = head_share(args.resnet_batch, args.repeats)
    print(table)
    print(f"head share of the forward time: {100 * share:.2f}%")


if __name__ == "__main__":
    main()
