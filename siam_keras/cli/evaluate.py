"""`siam evaluate`: score a saved model on a held-out split and write JSON.

With `--explanations`, score its explanations against the ground truth instead
(where, how, faithfulness, sanity, cost), SIAM against post-hoc methods.
"""

import dataclasses
import os
from pathlib import Path

from siam_keras import vocabulary
from siam_keras.data.run_config import manifest_table, run_config_data
from siam_keras.data.synthetic_scenes import OUTPUTS
from siam_keras.evaluation.explanation_report import format_explanation_report
from siam_keras.model_files import MODEL_HELP
from siam_keras.runtime.argument_validation import positive_int
from siam_keras.runtime.atomic import write_bytes, write_json
from siam_keras.runtime.output_kinds import labelled_kinds
from siam_keras.runtime.prediction_explainer import PredictionExplainer

#: Test images drawn with their explanation by `--figures`.
DEFAULT_NUM_FIGURES = 4


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model (or its explanations) on a dataset split",
        description=(
            "Score a SIAM model (.keras, SavedModel or .tflite) or a baseline .keras model "
            "on a split of synthetic_scenes, or of your own photos (a manifest run's "
            "--config): Kendall's tau, Spearman, RMSE and R^2 per regression output, accuracy, top-5 accuracy, macro F1 and per-class recall per "
            "classification output; for SIAM also per-attribute average precision and, on "
            "synthetic_scenes, how well the learned effects match the true ones. "
            "synthetic_scenes images are regenerated from the seed, so the split is the one "
            "training held out; a manifest's rows are split as training split them. "
            "With --explanations, score a SIAM model's explanations against the true masks "
            "and contributions instead, beside Grad-CAM, Grad-CAM++ (tf-keras-vis) and "
            "Grad-CAM on --baseline, and time them."
        ),
    )
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--dataset", default="synthetic_scenes", choices=["synthetic_scenes"],
                        help="dataset (default: synthetic_scenes)")
    parser.add_argument("--split", default="test", choices=["train", "validation", "test"],
                        help="split to score (default: test)")
    parser.add_argument("--num-images", type=int, default=1000, help="images of the split (default: 1000)")
    parser.add_argument("--config", metavar="CONFIG_TOML",
                        help="the config.toml siam-train wrote for the model: the dataset it was "
                             "trained on, read from its [data] table: synthetic_scenes settings "
                             "(seed, noise, true template size, outputs) or manifest files, so the "
                             "split is the one training held out (default: synthetic_scenes with "
                             "the built-in data's defaults, which the demo uses)")
    parser.add_argument("--batch-size", type=int, default=64, help="prediction batch size")
    group = parser.add_argument_group("explanations (with --explanations)")
    group.add_argument("--explanations", action="store_true",
                       help="evaluate the SIAM model's explanations against the ground truth")
    group.add_argument("--baseline", help="an unconstrained baseline .keras model: Grad-CAM on its "
                       "output joins the deletion comparison")
    group.add_argument("--figures", metavar="DIR", help="also write explanation figures of a few "
                       "images, the most over- and under-estimated images and the deletion "
                       "curves (PNG + JSON) into DIR")
    group.add_argument("--num-figures", type=int, default=DEFAULT_NUM_FIGURES,
                       help=f"images drawn one by one with --figures (default: {DEFAULT_NUM_FIGURES})")
    group.add_argument("--no-library-method", action="store_true",
                       help="leave out tf-keras-vis' Grad-CAM++ (the posthoc extra)")
    group.add_argument("--deletion-steps", type=int, default=16,
                       help="points of each deletion curve (default: 16)")
    group.add_argument("--timing-repeats", type=int, default=100,
                       help="timed rounds of explain vs. predict vs. Grad-CAM (default: 100; 0 skips)")
    return parser


def synthetic_scenes_settings(path):
    """`SyntheticScenes` arguments (seed, noise, template_size, outputs) from a run's
    config.toml (`[data.synthetic_scenes]`); {} (the defaults) for None."""
    from siam_keras.data.synthetic_scenes import scene_settings

    if path is None:
        return {}
    data = run_config_data(path)
    table = data.get("synthetic_scenes")
    if data.get("dataset", "synthetic_scenes") != "synthetic_scenes" or not isinstance(table, dict):
        raise ValueError(f"{path} has no [data.synthetic_scenes] table of a synthetic_scenes run "
                         f"(dataset: {data.get('dataset')!r}; a config.toml written before "
                         "siam-keras 0.2 keeps these settings in [data]): siam evaluate regenerates "
                         "synthetic_scenes splits only")
    return scene_settings(table)


@dataclasses.dataclass(frozen=True)
class EvaluatedModel:
    """What `siam evaluate` needs of --model, whatever its kind (`ModelFile`).

    `runner` is the Keras model of a `.keras` file (SIAM or baseline), else the
    explainer of the SavedModel or `.tflite` file.
    """

    runner: object
    image_size: int
    output_names: tuple
    output_kinds: dict
    attribute_names: tuple  # None for a baseline

    @property
    def keras(self):
        """The Keras model, or None for an exported model."""
        return None if isinstance(self.runner, PredictionExplainer) else self.runner


def load_evaluated_model(path):
    """The model of `--model`: a `.keras` file, a SavedModel version folder or a
    `.tflite` file with its sidecar; errors as `ModelFile`'s."""
    from siam_keras.model_files import ModelFile
    from siam_keras.saving import load_model

    model_file = ModelFile(path)
    if model_file.kind == "keras":
        model = load_model(path)
        names = getattr(model, "attribute_names", None)
        return EvaluatedModel(model, model.input_shape[1], tuple(model.output),
                              dict(model.output_kinds),
                              None if names is None else tuple(names))
    explainer = model_file.load(command="siam evaluate")
    return EvaluatedModel(explainer, explainer.image_size[0],
                          tuple(explainer.output_names), dict(explainer.head.output_kinds),
                          tuple(explainer.attribute_names))


def run(args):
    from siam_keras.data import SyntheticScenes
    from siam_keras.saving import load_model

    positive_int("--num-images", args.num_images, minimum=2)
    data = run_config_data(args.config)
    model = load_evaluated_model(args.model)
    if args.explanations and model.keras is None:
        raise ValueError(f"--explanations compares SIAM with Grad-CAM, which needs the model's "
                         f"gradients: give the .keras model, not {args.model}")
    if data.get("dataset") == "manifest":
        return _manifest(args, model, manifest_table(data, args.config))
    baseline = load_model(args.baseline) if args.explanations and args.baseline else None
    image_size = model.image_size
    settings = synthetic_scenes_settings(args.config)
    settings.setdefault("outputs", tuple(name for name in OUTPUTS if name in model.output_names)
                        or vocabulary.PAPER_OUTPUTS)
    scenes = SyntheticScenes(image_size=image_size, **settings)
    print(f"Generating {args.num_images} {args.split} images of {args.dataset} ({image_size} px)")
    split = scenes.generate(args.split, args.num_images)
    kinds = _in_model_label_order(model, scenes.output_kinds, split)
    outputs = [name for name in scenes.output_names if name in model.output_names]
    if not outputs:
        raise ValueError(
            f"The model's outputs {sorted(model.output_names)} include none of the dataset's "
            f"{list(scenes.output_names)}"
        )
    header = {"model": os.fspath(args.model),
              "dataset": {"name": args.dataset, "split": args.split, "num_images": args.num_images,
                          "image_size": image_size, "seed": scenes.seed}}
    if args.explanations:
        report = _explanations(args, model.keras, baseline, scenes, split)
        table = Path(args.out).with_suffix(".txt")
        write_bytes(table, (format_explanation_report(report) + "\n").encode("utf-8"))
        print(f"Wrote {table}")
    else:
        report = _metrics(args, model, scenes, split, outputs, kinds)
    write_json(args.out, {**header, **report})
    print(f"Wrote {args.out}")
    return 0


def _metrics(args, model, scenes, split, outputs, kinds):
    from siam_keras.evaluation.model_metrics import evaluate_model, synthetic_scenes_targets
    from siam_keras.metrics.report import format_report

    targets, truth = synthetic_scenes_targets(split, outputs)
    report, _ = evaluate_model(model.runner, split["image"], targets, outputs,
                               list(scenes.attribute_names), truth, batch_size=args.batch_size,
                               output_kinds=kinds)
    print(format_report(report))
    return report


def _in_model_label_order(model, scene_kinds, split):
    """The model's kind of each output; the generated `split`'s labels and true
    contributions of each labelled output are put in the model's label order in place (a
    model trained on a manifest sorts its labels)."""
    kinds = dict(model.output_kinds)
    for name, scene_kind in scene_kinds.items():
        ours = kinds.setdefault(name, scene_kind)
        if not scene_kind.labelled:
            continue
        if type(ours) is not type(scene_kind) or sorted(ours.labels) != sorted(scene_kind.labels):
            raise ValueError(f"The model's {name!r} is {ours!r}, the dataset's {scene_kind!r}")
        split[name] = ours.reorder(split[name], scene_kind.labels)
        key = vocabulary.contributions_key(name)
        split[key] = split[key][..., [scene_kind.labels.index(c) for c in ours.labels]]
    return kinds


def _manifest(args, model, table):
    """Scores `model` on a split of the manifest files a run's config lists."""
    from siam_keras.data.manifest.splits import read_manifest_splits
    from siam_keras.evaluation.model_metrics import evaluate_model
    from siam_keras.metrics.report import format_report

    if args.explanations:
        raise ValueError("--explanations scores explanations against a known truth: it needs "
                         "synthetic_scenes, not a manifest")
    kinds = dict(model.output_kinds)
    _check_output_kinds(args.config, table.get("outputs", {}), model)
    print(f"Reading the {args.split} split of the manifest files of {args.config}")
    data = read_manifest_splits(table, model.image_size, splits=(args.split,),
                                output_classes=labelled_kinds(kinds))
    images, labels = data.joined(args.split)
    outputs = [name for name in data.output_names if name in model.output_names]
    if not outputs:
        raise ValueError(f"The model's outputs {sorted(model.output_names)} include none of the "
                         f"manifest's {list(data.output_names)}")
    attributes = list(data.attribute_names)
    if model.attribute_names is not None and model.attribute_names != tuple(attributes):
        raise ValueError(f"The model's attributes {list(model.attribute_names)} are not the "
                         f"manifest's attribute columns {attributes}")
    report, _ = evaluate_model(model.runner, images, labels, outputs, attributes,
                               batch_size=args.batch_size, output_kinds=kinds)
    print(format_report(report))
    header = {"model": os.fspath(args.model),
              "dataset": {"name": "manifest", "split": args.split, "num_images": len(images),
                          "image_size": model.image_size, "files": list(table["files"]),
                          **data.problem_report()}}
    write_json(args.out, {**header, **report})
    print(f"Wrote {args.out}")
    return 0


def _check_output_kinds(config, kinds, model):
    """Refuses a config whose outputs are of another kind than the model's (a class column
    read as numbers failed deep inside with "could not convert string to float")."""
    for name, kind in kinds.items():
        if name not in model.output_names:
            continue
        theirs = model.output_kinds[name].name
        if kind != theirs:
            raise ValueError(f"{config} makes {name!r} a {kind} output, but the model's "
                             f"{name!r} is a {theirs} output: evaluate with the config the model "
                             "was trained with (its run folder's config.toml)")


def _explanations(args, model, baseline, scenes, split):
    from siam_keras.evaluation.explanation_ground_truth import evaluate_explanations
    from siam_keras.evaluation.timing import format_timing, time_explanations
    from siam_keras.explanations import SIAMExplainer

    explainer = SIAMExplainer(model, batch_size=args.batch_size)  # refuses non-SIAM models
    if args.baseline and list(baseline.input_shape) != list(model.input_shape):
        raise ValueError(f"--baseline takes {baseline.input_shape} images, the model "
                         f"{model.input_shape}: they must match")
    report = evaluate_explanations(
        model, split, scenes.weights, baseline=baseline,
        library_method=not args.no_library_method, deletion_steps=args.deletion_steps,
        batch_size=args.batch_size)
    if args.timing_repeats > 0:
        batch = min(32, len(split["image"]))
        print(f"Timing explain vs. predict vs. Grad-CAM on a batch of {batch} "
              f"({args.timing_repeats} rounds)")
        report["timing"] = time_explanations(model, split["image"][:batch], args.timing_repeats)
        print(format_timing(report["timing"]))
    if args.figures:
        report["figures"] = _figures(args, explainer, split, report["deletion"])
    print("\n" + format_explanation_report(report))
    return report


def _figures(args, explainer, split, deletion):
    from siam_keras.plotting import plot_deletion_curves, plot_explanation, plot_overview

    folder = Path(args.figures)
    folder.mkdir(parents=True, exist_ok=True)
    explanation = explainer(split["image"])
    outputs, kinds = explainer.output_names, explainer.head.output_kinds
    written = []
    for i in range(min(args.num_figures, len(split["image"]))):
        labels = {name: split[name][i] for name in outputs}  # each kind reads its own
        name = f"{args.split}_{i:04d}"
        plot_explanation(folder / f"{name}.png", split["image"][i], explanation, i,
                         label=kinds[outputs[0]].readable_label(labels[outputs[0]]),
                         title=f"{args.dataset} {args.split} image {i}")
        write_json(folder / f"{name}.json", {"image": f"{args.dataset}/{args.split}/{i}",
                                              **explanation.to_json(i, labels)})
        written.append(f"{name}.png")
    names = [f"{args.split} {i}" for i in range(len(split["image"]))]
    first = next(name for name in outputs if not kinds[name].labelled)
    shown = plot_overview(folder / "overview.png", split["image"], explanation, split[first],
                          output=first, names=names)
    write_json(folder / "overview.json", shown)
    plot_deletion_curves(folder / "deletion_curves.png", deletion)
    write_json(folder / "deletion_curves.json", deletion)
    written += ["overview.png", "deletion_curves.png"]
    print(f"Wrote {len(written)} figures (PNG + JSON) into {folder}/")
    return written

