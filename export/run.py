"""The export job: SavedModel, TFLite variants, fidelity report, sidecar, edge wheel."""

import dataclasses
import errno
import re
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

import siam_keras
from export import fidelity, saved_model, tflite
from export.edge_wheel import write_edge_wheel
from export.images import load_images
from export.test_vectors import write_test_vectors
from export.variants import DESCRIPTIONS
from export.web_page import (
    WEB,
    check_web_output,
    folder_size,
    is_web_page,
    litertjs_folder,
    web_variant,
    write_web_page,
)
from siam_keras.models import get_siam_layer
from siam_keras.runtime.atomic import replace_folder, write_bytes, write_json
from siam_keras.runtime.decomposition import HeadWeights
from siam_keras.runtime.explanation import RESIDUAL_TOLERANCE
from siam_keras.runtime.output_paths import written_by_siam_keras
from siam_keras.runtime.run_lock import RunLock
from siam_keras.runtime.sidecar import SIDECAR_NAME, ModelSidecar, file_sha256

#: Fewer calibration images than this is refused: int8 ranges from a handful of images
#: clip the rest (3 images gave an output MAE of 1.32 and an undefined Kendall's tau).
MIN_CALIBRATION_IMAGES = 10
#: Fewer than this is written, with a warning (the demo's top-3 agreement rose from
#: 0.910 to 0.925 between 64 and 256 images).
RECOMMENDED_CALIBRATION_IMAGES = 100
TFLITE, FIDELITY = "tflite", "fidelity.json"
#: The staging folders an export leaves after a hard kill (tempfile.mkdtemp's 8 random
#: characters, or replace_folder's `.<name>.<pid>.old`): removed by the next export.
STAGING = re.compile(rf"\.({TFLITE}|{WEB})(-[a-z0-9_]{{8}}|\.[0-9]+\.old)")


def model_sidecar(model, model_path="the model", max_pixels=None):
    """The `ModelSidecar` of a SIAM Keras model (its TFLite variants are added later)."""
    try:
        layer = get_siam_layer(model)
    except ValueError as error:
        raise ValueError(f"{model_path}: {error} The export writes explanation signatures, so it "
                         "needs a SIAM model.") from None
    limits = {} if max_pixels is None else {"max_pixels": max_pixels}
    return ModelSidecar(name=model.name, attribute_names=tuple(layer.attribute_names),
                        output_names=tuple(layer.output_names),
                        image_size=tuple(int(d) for d in model.input_shape[1:3]),
                        head=HeadWeights.from_layer(layer),
                        signatures=saved_model.signatures(model, **limits),
                        exported_with={"tensorflow": tf.__version__, "keras": keras.__version__,
                                       "siam_keras": siam_keras.__version__})


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
    images = load_images(config.calibration, image_size, config.calibration_images, "train",
                         config.seed, log)
    log(f"Calibration: {len(images)} images from {config.calibration}")
    if len(images) < MIN_CALIBRATION_IMAGES:
        raise ValueError(
            f"int8 needs at least {MIN_CALIBRATION_IMAGES} calibration images; {config.calibration} "
            f"gave {len(images)}. Give more (--calibration DIR, --calibration-images N), or leave "
            "int8 out (--tflite float32,float16,dynamic).")
    if len(images) < RECOMMENDED_CALIBRATION_IMAGES:
        warnings.append(f"int8 was calibrated on {len(images)} images, fewer than the "
                        f"{RECOMMENDED_CALIBRATION_IMAGES} recommended: check its fidelity")
        log(f"warning: {warnings[-1]}")
    return images


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
    sidecar = model_sidecar(model, config.model, config.max_pixels)
    base = out / "saved_model"
    # Everything that can refuse does so before the long work.
    version = saved_model.check_version(base, config.version, config.overwrite)
    check_tflite_outputs(out, config.overwrite)
    warnings = []
    calibration = None
    variants = config.variants
    litertjs = page_variant = None
    if config.web:
        litertjs = litertjs_folder(config.litertjs)
        page_variant = web_variant(config.web_variant, variants)
    check_web_output(out, config.overwrite, config.web)
    steps = 5 if config.web else 4
    if "int8" in variants:
        calibration = calibration_images(config, sidecar.image_size, warnings, log)
    holdout = load_images(config.holdout, sidecar.image_size, config.holdout_images, "test", config.seed,
                          log)

    log(f"[1/{steps}] SavedModel for TF Serving ({saved_model.PIXELS}, {saved_model.BYTES})")
    saved_model.write_saved_model(model, base, sidecar, version, config.overwrite, config.max_pixels,
                                  log)

    log(f"[2/{steps}] TFLite: {', '.join(variants)} (quantised backbones, float32 heads)")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():  # after a hard kill: only our staging folders' exact names
        if STAGING.fullmatch(stale.name) and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f".{TFLITE}-", dir=out) as staging:
        folder, whole_folder = Path(staging) / TFLITE, Path(staging) / "quantised_whole"
        converted, quantised_whole = tflite.convert(model, variants, calibration)
        files, whole_files = {}, {}
        for target, written, datas in ((folder, files, converted),
                                       (whole_folder, whole_files, quantised_whole)):
            for variant, data in datas.items():
                path = target / f"model_{variant}.tflite"
                write_bytes(path, data)
                tflite.check_builtin_ops(path)
                written[variant] = path
        for variant, path in files.items():
            log(f"      model_{variant}.tflite ({path.stat().st_size:,} bytes, builtin ops only: "
                f"{', '.join(sorted(tflite.operators(path)))})")

        log(f"[3/{steps}] Fidelity of each variant, and the test vectors")
        report = fidelity.measure(model, files, holdout, sidecar, config.latency_runs,
                                  quantised_whole=whole_files, log=log)
        report["holdout"] = str(config.holdout)
        report["warnings"] = warnings + report["warnings"]
        sidecar = dataclasses.replace(sidecar, variants={
            variant: {"file": path.name, "sha256": file_sha256(path),
                      "description": DESCRIPTIONS[variant], "tolerance": RESIDUAL_TOLERANCE,
                      "max_abs_error": report["variants"][variant]["max_abs_error"]}
            for variant, path in files.items()})
        sidecar.save(folder / SIDECAR_NAME)
        written = write_test_vectors(folder, files, sidecar, holdout, config.holdout,
                                     config.test_vectors)
        log(f"      test vectors: {min(len(holdout), config.test_vectors)} images, every variant "
            f"(tflite/{written.name}/)")
        replace_folder(folder, out / TFLITE)
    write_json(out / FIDELITY, report)
    log(fidelity.format_fidelity(report))
    for warning in report["warnings"]:
        log(f"warning: {warning}")

    log(f"[4/{steps}] The edge runtime")
    wheel = write_edge_wheel(out / "edge")
    suggested = "int8" if "int8" in files else next(iter(files))
    log(f"      {wheel}: pip install it on a device, then siam-edge explain --model "
        f"{out / TFLITE / f'model_{suggested}.tflite'} IMAGES --out DIR")
    if config.web:
        log(f"[5/{steps}] The web page ({page_variant} model, LiteRT.js)")
        page = write_web_page(out, out / TFLITE, page_variant, sidecar, litertjs,
                              RESIDUAL_TOLERANCE, config.max_pixels)
        total, fetched = folder_size(page)
        log(f"      {page}/: {total / 1e6:.1f} MB, of which a browser downloads {fetched / 1e6:.1f} "
            f"MB. Serve it, e.g. python -m http.server -d {page}, and open it on a phone")
    elif is_web_page(out / WEB):  # --overwrite without --web: its model is not this export's
        shutil.rmtree(out / WEB)
        log(f"Removed the earlier export's {out / WEB}/ (pass --web to write this model's)")
    elif (out / WEB).exists():
        log(f"Left {out / WEB}/ as it is: siam-export did not write it")
    log(f"Wrote {out}/ (saved_model/{version}, {TFLITE}/, {FIDELITY}, edge/"
        f"{', web/' if config.web else ''})")
    return report
