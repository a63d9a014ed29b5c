"""Explanations checked against `synthetic_scenes`' ground truth, SIAM vs. post-hoc methods.

- where: pointing game, relevance mass and IoU (best threshold) of each present
  attribute's map against its true mask;
- how: per-image correlation of learned and true contributions, and the share of
  |contribution| given to attributes whose true weight is zero;
- faithfulness: removing an attribute's map changes the output by exactly its
  contribution; deletion AUC of each method's map for the same output;
- sanity: randomising the head's weights must change the explanations.
"""

import time

import numpy as np

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
    attributes, outputs = explainer.attribute_names, explainer.output_names
    kinds = explainer.head.output_kinds
    regression = [name for name in outputs if not kinds[name].labelled]
    if not regression:
        raise ValueError(f"The deletion and Grad-CAM comparisons explain a regression output; "
                         f"the model has labelled outputs only "
                         f"({ {name: kind.name for name, kind in kinds.items()} })")
    first = regression[0]
    methods = {"gradcam": GradCAM(model, batch_size=batch_size)}
    if library_method:
        from siam_keras.explanations.gradcam_plus_plus import GradCAMPlusPlus

        methods[LIBRARY_METHOD] = GradCAMPlusPlus(model, batch_size=batch_size)

    stage(f"Explaining {len(images)} images with SIAM and {', '.join(methods)}")
    explanation = explainer(images)
    attribute_maps = {"siam": explanation.attribute_maps}
    output_maps = {"siam": explanation.outputs[first].spatial_contributions}
    for name, method in methods.items():
        cams = method(images, [*attributes, first])
        attribute_maps[name] = _stack(cams, attributes)
        output_maps[name] = cams[first]

    stage("Where: pointing game, relevance mass, IoU against the true masks")
    report = {name: _localization(maps, batch["label_map"], batch["attributes"], attributes)
              for name, maps in attribute_maps.items()}

    stage("How: learned against true contributions; removal of each attribute")
    per_output = {}
    for name in outputs:
        contributions, truth = explanation.outputs[name].contributions, batch[f"{name}_contributions"]
        if kinds[name].labelled:  # its kind's own measure (softmax: only differences)
            per_output[name] = {**kind_metrics(kinds[name]).ground_truth(
                contributions, truth, attributes, kinds[name]), "removal_max_error": 0.0}
            continue
        per_output[name] = {
            "contribution_r": how.contribution_r(contributions, truth, attributes)["mean"],
            "zero_weight_share": how.zero_weight_share(contributions, true_weights[name], attributes),
            "removal_max_error": 0.0,
        }
    for k, attribute in enumerate(attributes):
        removed = explainer.intervene(images, {attribute: 0.0})
        for name in outputs:
            contribution = explanation.outputs[name].contributions[:, k]
            error = np.abs(removed.output_change[name] + contribution).max()
            per_output[name]["removal_max_error"] = max(per_output[name]["removal_max_error"],
                                                        float(error))
    report["siam"].update({key: per_output[first][key] for key in per_output[first]})
    report["siam"]["removal_max_error"] = max(v["removal_max_error"] for v in per_output.values())
    report["siam"]["outputs"] = per_output

    stage(f"Faithfulness: deletion curves of {first!r} ({deletion_steps} steps, fill {deletion_fill})")
    size = images.shape[1:3]

    def curves_of(predicting_model, maps):
        relevance = upsample(maps[..., None], *size)[..., 0]
        return deletion.deletion_curves(_predict_output(predicting_model, first, 256), images,
                                        relevance, deletion_steps, deletion_fill)

    curves = {name: curves_of(model, maps) for name, maps in output_maps.items()}
    if baseline is not None:
        cams = GradCAM(baseline, batch_size=batch_size)(images, first)[first]
        curves["gradcam_baseline"] = curves_of(baseline, cams)
        report["gradcam_baseline"] = {}
    for name, curve in curves.items():
        report[name]["deletion_auc"] = float(deletion.deletion_auc(curve).mean())
    report["deletion"] = {
        "output": first, "steps": deletion_steps, "fill": deletion_fill, "num_images": len(images),
        "mean_curves": {name: curve.mean(axis=0).tolist() for name, curve in curves.items()},
    }

    stage("Sanity: the same images with the head's weights randomised")
    randomized = randomized_head_copy(model)
    shuffled = SIAMExplainer(randomized, batch_size=batch_size)(images)
    report["siam"]["sanity_rank_correlation"] = rank_correlation(
        explanation.attribute_maps, shuffled.attribute_maps)
    report["siam"]["sanity_spatial_rank_correlation"] = rank_correlation(
        output_maps["siam"][..., None], shuffled.outputs[first].spatial_contributions[..., None])
    random_cams = GradCAM(randomized, batch_size=batch_size)(images, list(attributes))
    report["gradcam"]["sanity_rank_correlation"] = rank_correlation(
        attribute_maps["gradcam"], _stack(random_cams, attributes))
    stage("")
    report["present_rule"] = PRESENT_RULE
    report["attribute_maps_compared"] = {
        "siam": "attribute_maps", **{name: f"{name} of each attribute score" for name in methods}}
    return report
