"""Explanations checked against `synthetic_scenes`' ground truth, SIAM vs. post-hoc methods.

- where: pointing game, relevance mass and IoU (best threshold) of each present
  attribute's map against its true mask;
- how: per-image correlation of learned and true contributions, and the share of
  |contribution| given to attributes whose true weight is zero;
- faithfulness: removing an attribute's map changes the output by exactly its
  contribution; deletion AUC of each method's map for the same output;
- sanity: randomising the head's weights must change the explanations.
"""

import dataclasses
import time

import numpy as np

from siam_keras import vocabulary
from siam_keras.evaluation.sanity import randomized_head_copy, rank_correlation
from siam_keras.explanations.explainer import SIAMExplainer
from siam_keras.explanations.gradcam import GradCAM
from siam_keras.metrics import contributions as how
from siam_keras.metrics import deletion, localization
from siam_keras.metrics.average_precision import POSITIVE_THRESHOLD
from siam_keras.metrics.report import kind_metrics
from siam_keras.runtime.upsampling import upsample

#: An attribute is "present" in an image when its label is a SUN positive (>= 2/3):
#: for synthetic_scenes, more than 2% of the pixels.
PRESENT_RULE = "attribute label >= 2/3 (SUN positive; synthetic_scenes: coverage > 2%)"
LIBRARY_METHOD = "gradcam_plus_plus"


def _localization(maps, label_maps, labels, attribute_names):
    """Where-metrics of (N, h, w, K) maps, pooled over (image, present attribute) pairs.

    `pointing_game` allows Zhang et al.'s tolerance (15 px of 500, so 2 px at
    64 px); `pointing_game_strict` none.
    """
    size = label_maps.shape[1:]
    tolerance = localization.pointing_tolerance(*size)
    per_attribute, hits, strict_hits, masses, ious, counts = {}, [], [], [], [], []
    for k, name in enumerate(attribute_names):
        present = labels[:, k] >= POSITIVE_THRESHOLD
        if not present.any():
            continue
        resized = upsample(maps[present][..., k : k + 1], *size)[..., 0]
        masks = label_maps[present] == k
        hit = localization.pointing_game(resized, masks, tolerance)
        strict = localization.pointing_game(resized, masks)
        mass = localization.relevance_mass(resized, masks)
        iou, threshold = localization.best_threshold_iou(resized, masks)
        per_attribute[name] = {"pointing_game": float(hit.mean()),
                               "pointing_game_strict": float(strict.mean()),
                               "relevance_mass": float(mass.mean()), "iou": iou,
                               "iou_threshold": threshold, "num_present": int(present.sum())}
        hits.append(hit), strict_hits.append(strict), masses.append(mass)
        ious.append(iou), counts.append(int(present.sum()))
    return {
        "pointing_game": float(np.concatenate(hits).mean()),
        "pointing_game_strict": float(np.concatenate(strict_hits).mean()),
        "pointing_tolerance_px": tolerance,
        "relevance_mass": float(np.concatenate(masses).mean()),
        "iou": float(np.average(ious, weights=counts)),
        "num_present": int(sum(counts)),
        "per_attribute": per_attribute,
    }


def _stack(maps_by_name, names):
    return np.stack([maps_by_name[name] for name in names], axis=-1)


def _predict_output(model, output, batch_size):
    def predict(images):
        return np.concatenate([
            np.asarray(model.predict_on_batch(images[i : i + batch_size])[output])
            for i in range(0, len(images), batch_size)
        ])
    return predict


class _Stages:
    """Prints each stage with its duration."""

    def __init__(self, log, total):
        self.log, self.total, self.count, self.start = log, total, 0, None

    def __call__(self, text):
        now = time.perf_counter()
        if self.start is not None:
            self.log(f"      done in {now - self.start:.1f} s")
        self.count += 1
        self.start = now
        if text:
            self.log(f"[{self.count}/{self.total}] {text}")


def evaluate_explanations(model, batch, true_weights, baseline=None, library_method=True,
                          deletion_steps=16, deletion_fill="mean", batch_size=32, log=print):
    """Evaluates SIAM's explanations and post-hoc baselines on a labelled batch.

    Args:
        model: a SIAM model.
        batch: a `SyntheticScenes.generate` dict (images, label maps, labels,
            outputs and true contributions).
        true_weights: {output: (K,) true weights} of the scoring rule.
        baseline: optional unconstrained model: Grad-CAM on its output is added
            to the deletion comparison.
        library_method: add tf-keras-vis' Grad-CAM++ (needs the `posthoc` extra).
        deletion_steps, deletion_fill: see `siam_keras.metrics.deletion`.
        batch_size: images per forward pass.
        log: progress printer.

    Returns:
        A dict in the layout of `explanations.json` (see the README): sections
        `siam`, `gradcam`, `gradcam_plus_plus`, `gradcam_baseline`, `deletion`,
        `sanity`; top-level values are for the first output.
    """
    stage = _Stages(log, 5)
    images = np.asarray(batch["image"], dtype="float32")
    explainer = SIAMExplainer(model, batch_size=batch_size)
    attributes, first = explainer.attribute_names, _first_regression_output(explainer)
    methods = _post_hoc_methods(model, library_method, batch_size)

    stage(f"Explaining {len(images)} images with SIAM and {', '.join(methods)}")
    explained = _explain(explainer, methods, images, first)

    stage("Where: pointing game, relevance mass, IoU against the true masks")
    report = {name: _localization(maps, batch["label_map"], batch["attributes"], attributes)
              for name, maps in explained.attribute_maps.items()}

    stage("How: learned against true contributions; removal of each attribute")
    per_output = _contribution_metrics(explainer, explained.explanation, batch, true_weights)
    _add_removal_errors(per_output, explainer, explained)
    report["siam"].update(per_output[first])
    report["siam"]["removal_max_error"] = max(v["removal_max_error"] for v in per_output.values())
    report["siam"]["outputs"] = per_output

    stage(f"Faithfulness: deletion curves of {first!r} ({deletion_steps} steps, "
          f"fill {deletion_fill})")
    _add_deletion(report, explained, model, baseline, deletion_steps, deletion_fill, batch_size)

    stage("Sanity: the same images with the head's weights randomised")
    _add_sanity(report, explained, model, batch_size)
    stage("")
    report["present_rule"] = PRESENT_RULE
    report["attribute_maps_compared"] = {
        "siam": "attribute_maps", **{name: f"{name} of each attribute score" for name in methods}}
    return report


@dataclasses.dataclass(frozen=True)
class _Explained:
    """A batch explained by SIAM and by each post-hoc method, for one regression output."""

    images: np.ndarray  # (N, H, W, 3) float32 pixels
    output: str  # the regression output the comparisons explain
    explanation: object  # SIAM's `SIAMExplanation` of the images
    attribute_maps: dict  # {method: (N, h, w, K) maps}
    output_maps: dict  # {method: (N, h, w) maps of `output`}


def _first_regression_output(explainer):
    """The first regression output: the one the deletion and Grad-CAM comparisons explain."""
    kinds = explainer.head.output_kinds
    regression = [name for name in explainer.output_names if not kinds[name].labelled]
    if not regression:
        raise ValueError(f"The deletion and Grad-CAM comparisons explain a regression output; "
                         f"the model has labelled outputs only "
                         f"({ {name: kind.name for name, kind in kinds.items()} })")
    return regression[0]


def _post_hoc_methods(model, library_method, batch_size):
    """{name: explainer} of the post-hoc methods compared with SIAM: our Grad-CAM, and
    tf-keras-vis' Grad-CAM++ if `library_method`."""
    methods = {"gradcam": GradCAM(model, batch_size=batch_size)}
    if library_method:
        from siam_keras.explanations.gradcam_plus_plus import GradCAMPlusPlus

        methods[LIBRARY_METHOD] = GradCAMPlusPlus(model, batch_size=batch_size)
    return methods


def _explain(explainer, methods, images, output):
    """`images` explained by SIAM's `explainer` and by each of the post-hoc `methods`."""
    explanation = explainer(images)
    attribute_maps = {"siam": explanation.attribute_maps}
    output_maps = {"siam": explanation.outputs[output].spatial_contributions}
    for name, method in methods.items():
        cams = method(images, [*explainer.attribute_names, output])
        attribute_maps[name] = _stack(cams, explainer.attribute_names)
        output_maps[name] = cams[output]
    return _Explained(images, output, explanation, attribute_maps, output_maps)


def _contribution_metrics(explainer, explanation, batch, true_weights):
    """{output: how-metrics}: learned contributions against the true ones (a labelled
    output by its kind's own measure: softmax contributions count only as differences),
    with `removal_max_error` 0 until `_add_removal_errors` measures it."""
    attributes, kinds = explainer.attribute_names, explainer.head.output_kinds
    per_output = {}
    for name in explainer.output_names:
        contributions = explanation.outputs[name].contributions
        truth = batch[vocabulary.contributions_key(name)]
        if kinds[name].labelled:
            per_output[name] = {**kind_metrics(kinds[name]).ground_truth(
                contributions, truth, attributes, kinds[name]), "removal_max_error": 0.0}
            continue
        per_output[name] = {
            "contribution_r": how.contribution_r(contributions, truth, attributes)["mean"],
            "zero_weight_share": how.zero_weight_share(contributions, true_weights[name],
                                                       attributes),
            "removal_max_error": 0.0,
        }
    return per_output


def _add_removal_errors(per_output, explainer, explained):
    """Removes each attribute in turn: every output must change by exactly minus its
    contribution; the largest error per output goes into `removal_max_error`."""
    for k, attribute in enumerate(explainer.attribute_names):
        removed = explainer.intervene(explained.images, {attribute: 0.0})
        for name in explainer.output_names:
            contribution = explained.explanation.outputs[name].contributions[:, k]
            error = np.abs(removed.output_change[name] + contribution).max()
            per_output[name]["removal_max_error"] = max(per_output[name]["removal_max_error"],
                                                        float(error))


def _add_deletion(report, explained, model, baseline, steps, fill, batch_size):
    """Adds each method's `deletion_auc` on `explained.output` (and Grad-CAM's on the
    `baseline`'s own output, if given) and the `deletion` section with the mean curves."""
    images, output = explained.images, explained.output

    def curves_of(predicting_model, maps):
        relevance = upsample(maps[..., None], *images.shape[1:3])[..., 0]
        return deletion.deletion_curves(_predict_output(predicting_model, output, 256), images,
                                        relevance, steps, fill)

    curves = {name: curves_of(model, maps) for name, maps in explained.output_maps.items()}
    if baseline is not None:
        cams = GradCAM(baseline, batch_size=batch_size)(images, output)[output]
        curves["gradcam_baseline"] = curves_of(baseline, cams)
        report["gradcam_baseline"] = {}
    for name, curve in curves.items():
        report[name]["deletion_auc"] = float(deletion.deletion_auc(curve).mean())
    report["deletion"] = {
        "output": output, "steps": steps, "fill": fill, "num_images": len(images),
        "mean_curves": {name: curve.mean(axis=0).tolist() for name, curve in curves.items()},
    }


def _add_sanity(report, explained, model, batch_size):
    """Adds the rank correlations of SIAM's and Grad-CAM's maps with those of a copy of
    `model` whose head weights are randomised (high: the maps ignore the weights)."""
    images, output, explanation = explained.images, explained.output, explained.explanation
    randomized = randomized_head_copy(model)
    shuffled = SIAMExplainer(randomized, batch_size=batch_size)(images)
    report["siam"]["sanity_rank_correlation"] = rank_correlation(
        explanation.attribute_maps, shuffled.attribute_maps)
    report["siam"]["sanity_spatial_rank_correlation"] = rank_correlation(
        explained.output_maps["siam"][..., None],
        shuffled.outputs[output].spatial_contributions[..., None])
    attributes = list(explanation.attribute_names)
    random_cams = GradCAM(randomized, batch_size=batch_size)(images, attributes)
    report["gradcam"]["sanity_rank_correlation"] = rank_correlation(
        explained.attribute_maps["gradcam"], _stack(random_cams, attributes))
