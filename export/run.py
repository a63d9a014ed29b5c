"""The export job: SavedModel, TFLite variants, fidelity report, sidecar, edge wheel."""

import dataclasses
from pathlib import Path

from export import fidelity, saved_model, tflite
from export.edge_wheel import write_edge_wheel
from export.images import load_images
from export.variants import DESCRIPTIONS
from siam_keras.explanations.decomposition import HeadWeights
from siam_keras.jsonio import write_bytes, write_json
from siam_keras.models import get_siam_layer
from siam_keras.sidecar import SIDECAR_NAME, ModelSidecar


def model_sidecar(model, model_path="the model"):
    """The `ModelSidecar` of a SIAM Keras model (its TFLite variants are added later)."""
    try:
        layer = get_siam_layer(model)
    except ValueError as error:
        raise ValueError(f"{model_path}: {error} The export writes explanation signatures, so it "
                         "needs a SIAM model.") from None
    return ModelSidecar(name=model.name, attribute_names=tuple(layer.attribute_names),
                        output_names=tuple(layer.output_names),
                        image_size=tuple(int(d) for d in model.input_shape[1:3]),
                        head=HeadWeights.from_layer(layer),
                        signatures=saved_model.signatures(model))


def run(args, variants, log=print):
    """Runs the export described by `python -m export`'s arguments; returns fidelity.json's dict."""
    from siam_keras.saving import load_model

    out = Path(args.out)
    model = load_model(args.model)
    sidecar = model_sidecar(model, args.model)
    base = out / "saved_model"
    version = saved_model.check_version(base, args.version, args.overwrite)  # before long work
    calibration = None
    if "int8" in variants:
        calibration = load_images(args.calibration, sidecar.image_size, args.calibration_images,
                                  "train", args.seed, log)
        log(f"Calibration: {len(calibration)} images from {args.calibration}")
    holdout = load_images(args.holdout, sidecar.image_size, args.holdout_images, "test", args.seed,
                          log)

    log(f"[1/4] SavedModel for TF Serving ({saved_model.PIXELS}, {saved_model.BYTES})")
    saved_model.write_saved_model(model, base, sidecar, version, args.overwrite, log)

    log(f"[2/4] TFLite: {', '.join(variants)}")
    folder = out / "tflite"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for variant, data in tflite.convert(model, variants, calibration).items():
        path = folder / f"model_{variant}.tflite"
        write_bytes(path, data)
        tflite.check_builtin_ops(path)
        files[variant] = path
        log(f"      {path} ({len(data):,} bytes, builtin ops only: "
            f"{', '.join(sorted(tflite.operators(path)))})")

    log("[3/4] Fidelity of each variant")
    report = fidelity.measure(model, files, holdout, sidecar, args.latency_runs, log=log)
    report["holdout"] = str(args.holdout)
    write_json(out / "fidelity.json", report)
    sidecar = dataclasses.replace(sidecar, variants={
        variant: {"file": path.name, "description": DESCRIPTIONS[variant],
                  "tolerance": report["variants"][variant]["explanation_tolerance"],
                  "max_abs_error": report["variants"][variant]["max_abs_error"]}
        for variant, path in files.items()})
    sidecar.save(folder / SIDECAR_NAME)
    log(fidelity.format_fidelity(report))

    log("[4/4] The edge runtime")
    wheel = write_edge_wheel(out / "edge")
    log(f"      {wheel}: pip install it on a device, then siam-edge explain --model "
        f"{folder / 'model_int8.tflite'} IMAGES --out DIR")
    log(f"Wrote {out}/ (saved_model/{version}, tflite/, fidelity.json, edge/)")
    return report
