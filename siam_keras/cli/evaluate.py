"""`siam evaluate`: score a saved model on a held-out split and write JSON."""

import json
import os
from pathlib import Path

from siam_keras.metrics.report import format_report


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="score a .keras model on a dataset split",
        description=(
            "Score a SIAM or baseline .keras model on a split of synthetic_scenes: Kendall's "
            "tau, Spearman, RMSE and R^2 per output; for SIAM also per-attribute average "
            "precision and how well the learned effects rank like the true ones. The images "
            "are regenerated from the seed, so the split is the one training held out."
        ),
    )
    parser.add_argument("--model", required=True, help="path of a .keras model")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--dataset", default="synthetic_scenes", choices=["synthetic_scenes"],
                        help="dataset (default: synthetic_scenes)")
    parser.add_argument("--split", default="test", choices=["train", "validation", "test"],
                        help="split to score (default: test)")
    parser.add_argument("--num-images", type=int, default=1000, help="images of the split (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0, as the demo)")
    parser.add_argument("--noise", type=float, default=0.1, help="label noise (default: 0.1)")
    parser.add_argument("--truth-template-size", type=int, default=8,
                        help="side of the true templates (default: 8, as the demo)")
    parser.add_argument("--batch-size", type=int, default=64, help="prediction batch size")
    return parser


def run(args):
    from siam_keras.data import SyntheticScenes
    from siam_keras.evaluation import evaluate_model, synthetic_scenes_targets
    from siam_keras.saving import load_model

    if args.num_images < 2:
        raise ValueError(f"--num-images must be at least 2. Received: {args.num_images}")
    model = load_model(args.model)
    image_size = model.input_shape[1]
    scenes = SyntheticScenes(image_size=image_size, template_size=args.truth_template_size,
                             noise=args.noise, seed=args.seed)
    print(f"Generating {args.num_images} {args.split} images of {args.dataset} ({image_size} px)")
    split = scenes.generate(args.split, args.num_images)
    outputs = [name for name in scenes.output_names if name in model.output]
    if not outputs:
        raise ValueError(
            f"The model's outputs {sorted(model.output)} include none of the dataset's "
            f"{list(scenes.output_names)}"
        )
    targets, truth = synthetic_scenes_targets(split, outputs)
    report, _ = evaluate_model(model, split["image"], targets, outputs,
                               list(scenes.attribute_names), truth, batch_size=args.batch_size)
    report = {"model": os.fspath(args.model),
              "dataset": {"name": args.dataset, "split": args.split, "num_images": args.num_images,
                          "image_size": image_size, "seed": args.seed}, **report}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_report(report))
    print(f"Wrote {out}")
    return 0
