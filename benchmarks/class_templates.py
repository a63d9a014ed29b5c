"""Classification heads measured on a known rule: shared templates vs. per-class templates.

`synthetic_scenes` with its `landscape` output (4 classes decided in SIAM's form, each
class with its own weights and templates over the concepts) trains the demo model once
with `model.class_templates = "shared"` and once with `"per_class"`, from the same seed,
one after the other on this machine; the table gives each one's held-out accuracy,
macro F1, the class-centred contribution r against the true rule, the regression
output's Kendall's tau, the head's weight count and the training time.

Usage (from the repository root):
    python -m benchmarks.class_templates [--num-train 4000] [--epochs 12] [--out runs/bench]
"""

import argparse
import os
import tempfile

from siam_keras.runtime.head_choices import CLASS_TEMPLATES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def measure(choice, num_train, epochs, out):
    from siam_keras.saving import load_model
    from training.config import load_config
    from training.run import run

    decay = [round(epochs * 2 / 3), epochs - 1] if epochs > 2 else []
    config = load_config("training/configs/demo.toml", [
        "data.synthetic_scenes.outputs=['scenicness', 'scenicness_variance', 'landscape']",
        f"data.synthetic_scenes.num_train={num_train}", f"train.epochs={epochs}",
        f"train.lr_decay_epochs={decay}", "baseline.enabled=false",
        f"model.class_templates='{choice}'"])
    metrics = run(config, os.path.join(out, choice), overwrite=True, log=lambda *_: None)
    head = load_model(os.path.join(out, choice, "model.keras")).siam_head
    landscape = metrics["outputs"]["landscape"]
    return [choice, f"{landscape['accuracy']:.3f}", f"{landscape['macro_f1']:.3f}",
            f"{metrics['ground_truth']['outputs']['landscape']['contribution_r']:.3f}",
            f"{metrics['outputs']['scenicness']['kendall_tau']:.3f}",
            sum(int(w.numpy().size) for w in head.weights if w.path.split("/")[-1]
                .startswith("landscape")),
            f"{metrics['training']['siam_seconds']:.0f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-train", type=int, default=4000, help="training images (default: 4000)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs (default: 12)")
    parser.add_argument("--out", default=None, help="run folders (default: a temporary folder)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="class_templates_")
    rows = [["class_templates", "accuracy", "macro_f1", "contribution_r", "scenicness tau",
             "landscape weights", "train s"]]
    for choice in CLASS_TEMPLATES:
        rows.append(measure(choice, args.num_train, args.epochs, out))
        print(_table(rows[:1] + rows[-1:]) if len(rows) == 2 else _table(rows[-1:]), flush=True)
    print("\n" + _table(rows))


if __name__ == "__main__":
    main()
