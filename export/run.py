"""The export job: every configured `ExportTarget` (`export.targets.TARGETS`), in turn.

SavedModel, TFLite variants with their sidecar and fidelity report, test vectors, the
edge wheel and, with --web, the web page: each is a target that refuses early, writes,
and checks what it wrote. This module knows none of them by name.
"""

import dataclasses
import errno
from pathlib import Path

import keras
import tensorflow as tf

import siam_keras
from export import saved_model
from export.targets import ExportContext, targets_for
from export.targets.context import STAGING
from export.targets.tflite import (
    FIDELITY,
    MIN_CALIBRATION_IMAGES,
    RECOMMENDED_CALIBRATION_IMAGES,
    TFLITE,
    calibration_images,
    check_tflite_outputs,
)
from siam_keras.models import get_siam_layer
from siam_keras.runtime.run_lock import RunLock

__all__ = ["FIDELITY", "MIN_CALIBRATION_IMAGES", "RECOMMENDED_CALIBRATION_IMAGES", "STAGING",
           "TFLITE", "calibration_images", "check_tflite_outputs", "model_sidecar", "run"]


def model_sidecar(model, model_path="the model", max_pixels=None):
    """The `ModelSidecar` of a SIAM Keras model (its TFLite variants are added later)."""
    try:
        get_siam_layer(model)
    except ValueError as error:
        raise ValueError(f"{model_path}: {error} The export writes explanation signatures, so it "
                         "needs a SIAM model.") from None
    limits = {} if max_pixels is None else {"max_pixels": max_pixels}
    return dataclasses.replace(
        model.sidecar(), signatures=saved_model.signatures(model, **limits),
        exported_with={"tensorflow": tf.__version__, "keras": keras.__version__,
                       "siam_keras": siam_keras.__version__})


def run(config, log=print):
    """Runs the export an `ExportConfig` describes; returns fidelity.json's dict. Another
    command writing `config.out` meanwhile is refused (`RunLock`)."""
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    with RunLock(out, "siam-export"):
        try:
            return _export(config, out, log)
        except tf.errors.OpError as error:  # TensorFlow's own errors, in one line
            first = (str(error.message).strip().splitlines() or [type(error).__name__])[0]
            if "No space left on device" in first:
                raise OSError(errno.ENOSPC, f"writing the export into {out} failed: "
                              f"{first[:300]}") from None
            raise ValueError(f"The export failed in TensorFlow: {first[:300]}") from None


def _export(config, out, log):
    from siam_keras.saving import load_model

    model = load_model(config.model)
    targets, others = targets_for(config)
    context = ExportContext(config=config, out=out, model=model, log=log,
                            sidecar=model_sidecar(model, config.model, config.max_pixels),
                            targets=tuple(target.name for target in targets))
    # Everything that can refuse does so before the long work.
    for target in targets:
        target.check(context)
    for target in others:
        target.check_absent(context)
    for target in targets:
        target.prepare(context)
    context.remove_staging_left()  # after a hard kill
    with context:
        for number, target in enumerate(targets, 1):
            log(f"[{number}/{len(targets)}] {target.heading(context)}")
            target.write(context)
            target.verify(context)
        context.commit()
    for target in others:
        target.absent(context)
    log(f"Wrote {out}/ ({', '.join(written_summary(targets, context))})")
    return context.report


def written_summary(targets, context):
    """The targets' outputs, one entry per top-level name: a file there (`fidelity.json`),
    a folder there written whole as the only output (`saved_model/1/`), else the top-level
    folder (`tflite/`, `edge/`)."""
    groups = {}
    for target in targets:
        for output in target.outputs(context):
            groups.setdefault(output.split("/")[0], []).append(output)
    return [found[0] if len(found) == 1 and (found[0] == top or found[0].endswith("/"))
            else f"{top}/" for top, found in groups.items()]
