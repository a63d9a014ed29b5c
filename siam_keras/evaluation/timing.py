"""How much an explanation costs: SIAM's vs. a plain prediction vs. Grad-CAM, side by side."""

import numpy as np

from siam_keras.explanations.explainer import SIAMExplainer
from siam_keras.explanations.gradcam import GradCAM
from siam_keras.runtime.benchmarking import interleaved_rounds, paired_ratio

#: The timed calls, in the order they are interleaved.
CALLS = (
    "predict",
    "explain",
    "explain_upsampled",
    "gradcam",
    "gradcam_shared_forward",
)
DESCRIPTIONS = {
    "predict": "plain prediction (model.predict_on_batch)",
    "explain": "SIAM explanation: all attributes, all outputs, checked",
    "explain_upsampled": "  + attribute maps upsampled to the input",
    "gradcam": "Grad-CAM over all K attributes (a pass per attribute)",
    "gradcam_shared_forward": "Grad-CAM over all K attributes (one shared forward pass)",
    "gradcam_plus_plus": "Grad-CAM++ over all K attributes (tf-keras-vis, eager)",
}


def time_explanations(model, images, repeats=100, library_method=False, seed=0):
    """Median seconds of each call in `CALLS` on one batch, interleaved round by round.

    Every call gets the same model and batch; each is run once untimed first
    (tracing); rounds interleave the calls in random order and each ratio is the
    median of the rounds' own ratios (`siam_keras.runtime.benchmarking`).

    Args:
        model: a SIAM model.
        images: (B, H, W, 3) pixels: the batch.
        repeats: timed rounds.
        library_method: also time tf-keras-vis' Grad-CAM++ (slow; eager).
        seed: the order of the calls in each round.

    Returns:
        {"batch_size", "repeats", "num_attributes", "seconds": {call: median},
         "explain_over_predict", "explain_upsampled_over_predict",
         "gradcam_over_explain", "gradcam_shared_forward_over_explain",
         ["gradcam_plus_plus_over_explain"]}
    """
    images = np.asarray(images, dtype="float32")
    explainer = SIAMExplainer(model, batch_size=len(images))
    attributes = list(explainer.attribute_names)
    per_pass = GradCAM(model, batch_size=len(images))
    shared = GradCAM(model, batch_size=len(images), shared_forward=True)
    calls = {
        "predict": lambda: model.predict_on_batch(images),
        "explain": lambda: explainer(images),
        "explain_upsampled": lambda: explainer(images).upsampled_attribute_maps,
        "gradcam": lambda: per_pass(images, attributes),
        "gradcam_shared_forward": lambda: shared(images, attributes),
    }
    if library_method:
        from siam_keras.explanations.gradcam_plus_plus import GradCAMPlusPlus

        library = GradCAMPlusPlus(model, batch_size=len(images))
        calls["gradcam_plus_plus"] = lambda: library(images, attributes)
    rounds = interleaved_rounds(calls, repeats, seed)

    def ratio(numerator, denominator):
        return paired_ratio(rounds, numerator, denominator)

    result = {
        "batch_size": len(images),
        "repeats": repeats,
        "num_attributes": len(attributes),
        "seconds": {name: float(np.median(values)) for name, values in rounds.items()},
        "explain_over_predict": ratio("explain", "predict"),
        "explain_upsampled_over_predict": ratio("explain_upsampled", "predict"),
        "gradcam_over_explain": ratio("gradcam", "explain"),
        "gradcam_shared_forward_over_explain": ratio("gradcam_shared_forward", "explain"),
    }
    if library_method:
        result["gradcam_plus_plus_over_explain"] = ratio("gradcam_plus_plus", "explain")
    return result


def format_timing(timing):
    """A plain-text table of `time_explanations`' result."""
    rows = [(f"batch of {timing['batch_size']}, K = {timing['num_attributes']}",
             f"ms (median of {timing['repeats']})", "x explain")]
    explain = timing["seconds"]["explain"]
    for name, seconds in timing["seconds"].items():
        rows.append((DESCRIPTIONS[name], f"{1000 * seconds:.1f}", f"{seconds / explain:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
