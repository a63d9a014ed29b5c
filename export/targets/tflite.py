"""`TFLiteTarget`: `tflite/model_<variant>.tflite`, their sidecar, and `fidelity.json`."""

import dataclasses
from pathlib import Path

from export.targets.base import ExportTarget
from export.variants import DESCRIPTIONS
from siam_keras.runtime.atomic import write_bytes, write_json
from siam_keras.runtime.explanation import RESIDUAL_TOLERANCE
from siam_keras.runtime.output_paths import written_by_siam_keras
from siam_keras.runtime.sidecar import SIDECAR_NAME, ModelSidecar, file_sha256

TFLITE, FIDELITY = "tflite", "fidelity.json"
#: Fewer calibration images than this is refused: int8 ranges from a handful of images
#: clip the rest (3 images gave an output MAE of 1.32 and an undefined Kendall's tau).
MIN_CALIBRATION_IMAGES = 10
#: Fewer than this is written, with a warning (the demo's top-3 agreement rose from
#: 0.910 to 0.925 between 64 and 256 images).
RECOMMENDED_CALIBRATION_IMAGES = 100


def check_tflite_outputs(out, overwrite):
    """Refuses to replace an earlier export's TFLite models unless `overwrite`, and a
    `tflite/` folder siam-export did not write (no sidecar in it) in any case.

    They are replaced as a whole (`tflite/` and `fidelity.json`): models left from an
    earlier export would not match the new sidecar.
    """
    folder = Path(out) / TFLITE
    if (folder.exists() or folder.is_symlink()) and not written_by_siam_keras(folder,
                                                                              SIDECAR_NAME):
        raise FileExistsError(f"{folder} exists and is not an export's (no {SIDECAR_NAME} in "
                              "it): it is left alone. Move it, or choose another --out.")
    existing = [name for name in (TFLITE, FIDELITY) if (Path(out) / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out} already holds an export's {' and '.join(existing)}. Pass --overwrite to "
            f"replace them (the whole {TFLITE}/ folder is replaced, so no model of the earlier "
            "export stays beside the new sidecar), or choose another --out.")


def calibration_images(config, image_size, warnings, log=print):
    """The int8 calibration pixels; refuses fewer than `MIN_CALIBRATION_IMAGES`."""
    from export.images import load_images

    images = load_images(config.calibration, image_size, config.calibration_images, "train",
                         config.seed, log)
    log(f"Calibration: {len(images)} images from {config.calibration}")
    if len(images) < MIN_CALIBRATION_IMAGES:
        raise ValueError(
            f"int8 needs at least {MIN_CALIBRATION_IMAGES} calibration images; "
            f"{config.calibration} gave {len(images)}. Give more (--calibration DIR, "
            "--calibration-images N), or leave int8 out (--tflite float32,float16,dynamic).")
    if len(images) < RECOMMENDED_CALIBRATION_IMAGES:
        warnings.append(f"int8 was calibrated on {len(images)} images, fewer than the "
                        f"{RECOMMENDED_CALIBRATION_IMAGES} recommended: check its fidelity")
        log(f"warning: {warnings[-1]}")
    return images


class TFLiteTarget(ExportTarget):
    """`tflite/model_<variant>.tflite` (quantised backbones, float32 heads), the sidecar
    `tflite/siam_model.json` naming each by its SHA-256, and `fidelity.json` (each variant
    against the Keras model, on the held-out images).

    Staged: `tflite/` (with the test vectors the next target adds) and fidelity.json take
    their names together once every target has written, so no model of an earlier export
    stays beside the new sidecar.
    """

    name = "tflite"
    description = "TFLite models (quantised backbones, float32 heads), sidecar, fidelity.json"
    checked_by = ("builtin ops only (each file, as it is written); explanations recomputed "
                  "from each model's own maps within RESIDUAL_TOLERANCE, and its fidelity "
                  "measured (fidelity.json); the sidecar read back names each by its SHA-256")
    model_kind = "tflite"

    def heading(self, context):
        return (f"TFLite: {', '.join(context.config.variants)} (quantised backbones, float32 "
                "heads)")

    def outputs(self, context):
        models = tuple(f"{TFLITE}/model_{variant}.tflite" for variant in context.config.variants)
        return (*models, f"{TFLITE}/{SIDECAR_NAME}", FIDELITY)

    def check(self, context):
        """Refuses to replace an earlier export's models without --overwrite
        (`check_tflite_outputs`)."""
        check_tflite_outputs(context.out, context.config.overwrite)

    def prepare(self, context):
        """Loads the calibration images (int8; too few are refused) and the held-out ones."""
        if "int8" in context.config.variants:
            context.calibration = calibration_images(context.config, context.sidecar.image_size,
                                                     context.warnings, context.log)
        context.holdout  # noqa: B018 (loaded now: a folder without images refuses early)

    def write(self, context):
        from export import tflite

        folder = context.staged(TFLITE)
        converted, quantised_whole = tflite.convert(context.model, context.config.variants,
                                                    context.calibration)
        files = _write_models(folder, converted)
        whole_files = _write_models(context.scratch("quantised_whole"), quantised_whole)
        for variant, path in files.items():
            context.log(f"      model_{variant}.tflite ({path.stat().st_size:,} bytes, builtin "
                        f"ops only: {', '.join(sorted(tflite.operators(path)))})")
        context.tflite_files = files
        context.report = self._measure(context, whole_files)
        context.sidecar = dataclasses.replace(context.sidecar, variants={
            variant: {"file": path.name, "sha256": file_sha256(path),
                      "description": DESCRIPTIONS[variant], "tolerance": RESIDUAL_TOLERANCE,
                      "max_abs_error": context.report["variants"][variant]["max_abs_error"]}
            for variant, path in files.items()})
        context.sidecar.save(folder / SIDECAR_NAME)
        write_json(context.staged(FIDELITY), context.report)

    @staticmethod
    def _measure(context, whole_files):
        """fidelity.json's dict, logged as a table with its warnings."""
        from export import fidelity

        config = context.config
        report = fidelity.measure(context.model, context.tflite_files, context.holdout,
                                  context.sidecar, config.latency_runs,
                                  quantised_whole=whole_files, log=context.log)
        report["holdout"] = str(config.holdout)
        report["warnings"] = context.warnings + report["warnings"]
        context.log(fidelity.format_fidelity(report))
        for warning in report["warnings"]:
            context.log(f"warning: {warning}")
        return report

    def verify(self, context):
        super().verify(context)
        sidecar = ModelSidecar.load(context.path(f"{TFLITE}/{SIDECAR_NAME}"))
        for variant, path in context.tflite_files.items():
            if sidecar.variant_of(path) != variant:
                raise RuntimeError(f"{path}: the sidecar names it another variant")


def _write_models(folder, models):
    """Writes {variant: bytes} as `folder/model_<variant>.tflite`, each checked for builtin
    ops only; returns {variant: path}."""
    from export import tflite

    files = {}
    for variant, data in models.items():
        path = folder / f"model_{variant}.tflite"
        write_bytes(path, data)
        tflite.check_builtin_ops(path)
        files[variant] = path
    return files
