"""What an explanation costs: SIAM's vs. a plain prediction vs. Grad-CAM, one run.

For each model, one batch; every call is timed round by round, interleaved, and the
median is kept (`siam_keras.evaluation.timing`):

- plain prediction (`model.predict_on_batch`);
- SIAM's full explanation: every attribute and output, contributions, their exact
  spatial split, top-k, checked to add up (and with the maps upsampled to the input);
- Grad-CAM over all K attributes, one forward + backward pass per attribute (as
  Grad-CAM is run by tf-keras-vis and pytorch-grad-cam), and with one shared
  forward pass (the cheapest Grad-CAM possible);
- tf-keras-vis' Grad-CAM++ over all K attributes (eager, as shipped), with --library.

Models: the demo model (`--model`, default runs/demo/model.keras, or a freshly built
one of the same architecture when absent) and the paper's preset (ResNet-50 at
450 px, K = 33, random weights: timing does not depend on them), with --paper.

Usage: python -m benchmarks.explanations [--model M.keras] [--batch 32] [--repeats 20]
       [--paper] [--paper-batch 2] [--library]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _demo_model(path):
    from siam_keras.saving import load_model

    if os.path.isfile(path):
        return load_model(path), path
    from siam_keras import vocabulary
    from siam_keras.data import SyntheticScenes
    from training.builders import siam_model_from_config
    from training.config import load_config

    config = load_config("training/configs/demo.toml")
    model = siam_model_from_config(config, SyntheticScenes.attribute_names,
                                   vocabulary.PAPER_OUTPUTS)
    return model, "demo architecture, untrained (no runs/demo/model.keras)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="runs/demo/model.keras", help="a SIAM .keras model")
    parser.add_argument("--batch", type=int, default=32, help="images per batch (default: 32)")
    parser.add_argument("--repeats", type=int, default=100, help="timed rounds (default: 100)")
    parser.add_argument("--paper", action="store_true",
                        help="also time the paper's preset (ResNet-50, 450 px, K = 33)")
    parser.add_argument("--paper-batch", type=int, default=2, help="its batch (default: 2)")
    parser.add_argument("--paper-repeats", type=int, default=3, help="its rounds (default: 3)")
    parser.add_argument("--library", action="store_true",
                        help="also time tf-keras-vis' Grad-CAM++ (eager; slow)")
    args = parser.parse_args(argv)

    import numpy as np

    from siam_keras.data import SyntheticScenes
    from siam_keras.evaluation.timing import format_timing, time_explanations

    model, source = _demo_model(args.model)
    size = model.input_shape[1]
    images = SyntheticScenes(image_size=size).generate("test", args.batch)["image"]
    print(f"Demo model ({source})")
    timing = time_explanations(model, images, args.repeats, library_method=args.library)
    print(format_timing(timing))
    _ratios(timing)
    if args.paper:
        from siam_keras.models import build_siam_model_from_preset

        paper = build_siam_model_from_preset("siam_paper")
        pixels = np.random.default_rng(0).integers(0, 256, (args.paper_batch, 450, 450, 3))
        print("\nPaper preset (resnet50, 450 px, K = 33, random weights)")
        timing = time_explanations(paper, pixels, args.paper_repeats, library_method=args.library)
        print(format_timing(timing))
        _ratios(timing)


def _ratios(timing):
    keys = [k for k in timing if k.endswith(("_over_predict", "_over_explain"))]
    print("  " + ", ".join(f"{k} = {timing[k]:.2f}" for k in keys))


if __name__ == "__main__":
    main()
