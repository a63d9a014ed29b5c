"""`evaluate_model`: predictions of a SIAM or baseline model on one split, scored."""

import numpy as np

from siam_keras import vocabulary
from siam_keras.metrics.report import metrics_report
from siam_keras.runtime.prediction_explainer import PredictionExplainer


def predict(model, images, batch_size=64):
    """Runs `model` over uint8 or float images in batches; returns a dict of NumPy arrays.

    `model` is a Keras model or the explainer of any SIAM model file
    (`siam_keras.model_files`: a SavedModel, a `.tflite`), whose `predict`
    takes raw pixels.
    """
    if isinstance(model, PredictionExplainer):
        chunks = [model.predict(np.asarray(images[i : i + batch_size], dtype="float32"))
                  for i in range(0, len(images), batch_size)]
        return {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0]}
    outputs = model.predict(np.asarray(images, dtype="float32"), batch_size=batch_size, verbose=0)
    if not isinstance(outputs, dict):
        raise TypeError(
            f"Model {model.name!r} must return a dict of named outputs. Received: {type(outputs).__name__}"
        )
    return {key: np.asarray(value) for key, value in outputs.items()}


def evaluate_model(model, images, targets, output_names, attribute_names=None,
                   true_contributions=None, batch_size=64, output_kinds=None,
                   output_classes=None):
    """Predicts `images` and returns `(metrics_report(...), predictions)`.

    Attribute metrics and ground-truth effects are included when the model is a
    SIAM model (it returns `attribute_scores` and contributions) and the labels or
    true contributions are given. `output_kinds` gives each output's `OutputKind`
    (`metrics_report`; `output_classes`, {output: class names}, is the older spelling
    of classification kinds).
    """
    predictions = predict(model, images, batch_size)
    is_siam = vocabulary.ATTRIBUTE_SCORES in predictions
    report = metrics_report(
        predictions,
        targets,
        output_names,
        attribute_names=attribute_names if is_siam else None,
        true_contributions=true_contributions if is_siam else None,
        output_kinds=output_kinds,
        output_classes=output_classes,
    )
    return report, predictions


def synthetic_scenes_targets(batch, output_names):
    """`(targets, true_contributions)` of a `SyntheticScenes.generate` batch, as
    `evaluate_model` takes them."""
    targets = {name: batch[name] for name in output_names}
    targets["attributes"] = batch["attributes"]
    truth = {name: batch[vocabulary.contributions_key(name)] for name in output_names}
    return targets, truth
