"""How faithful, small and fast each TFLite variant is, against the Keras model."""

import math
from pathlib import Path

import numpy as np
from scipy import stats

from siam_keras import vocabulary
from siam_keras.runtime.benchmarking import interleaved_rounds, paired_ratio
from siam_keras.runtime.explanation import RESIDUAL_TOLERANCE, SIAMExplanation
from siam_keras.runtime.native_logs import filtered_stderr

#: The keys of `variants.<variant>` in fidelity.json, in table order.
KEYS = ("size_bytes", "size_ratio", "latency_ms", "latency_ratio", "output_mae",
        "output_kendall_tau", "attribute_map_r", "top3_agreement", "contribution_mae")
THREADS = 2


def _runner(path, threads):
    from ai_edge_litert.interpreter import Interpreter

    with filtered_stderr():  # LiteRT says "INFO: Created ... XNNPACK delegate" on a first call
        runner = Interpreter(model_path=str(path), num_threads=threads).get_signature_runner(
            vocabulary.PIXELS_SIGNATURE)
        shape = runner.get_input_details()[vocabulary.PIXELS_INPUT]["shape"]
        runner(**{vocabulary.PIXELS_INPUT: np.zeros(shape, "float32")})
    return runner


def run_tflite(path, images, threads=THREADS):
    """LiteRT's outputs for each image (batch 1), joined into (N, ...) arrays."""
    runner = _runner(path, threads)
    images = np.asarray(images, dtype="float32")
    results = [runner(**{vocabulary.PIXELS_INPUT: images[i : i + 1]}) for i in range(len(images))]
    return {key: np.concatenate([r[key] for r in results]) for key in results[0]}


def latencies(paths, image, runs, threads=THREADS, seed=0):
    """Per variant, the median ms of one batch-1 call, the median of each round's ratio
    to float32, and every round's seconds (interleaved rounds, `siam_keras.runtime.benchmarking`)."""
    runners = {variant: _runner(path, threads) for variant, path in paths.items()}
    image = np.asarray(image, dtype="float32")[None]
    seconds = interleaved_rounds(
        {variant: (lambda runner=runner: runner(**{vocabulary.PIXELS_INPUT: image})) for variant, runner in runners.items()},
        runs, seed)
    medians = {variant: 1000 * float(np.median(values)) for variant, values in seconds.items()}
    ratios = {}
    if "float32" in seconds:
        ratios = {variant: paired_ratio(seconds, variant, "float32") for variant in seconds}
    return medians, ratios, seconds


def _top3(contributions):
    return np.sort(np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :3], axis=1)


def max_errors(reference, predicted):
    """The largest absolute differences over all images: outputs, contributions, maps."""
    def worst(keys):
        return float(max(np.abs(predicted[k] - reference[k]).max() for k in keys))

    outputs = vocabulary.named_outputs(reference)
    return {"output": worst(outputs),
            "contribution": worst([vocabulary.contributions_key(k) for k in outputs]),
            "attribute_map": worst([vocabulary.ATTRIBUTE_MAPS])}


def compare(reference, predicted, output):
    """Output, map and contribution agreement of `predicted` with `reference`.

    For a classification output ((N, C) logits), Kendall's tau is over all the logits,
    `class_agreement` is the share of images whose predicted class is the reference's,
    and the top-3 attributes are those of the reference's predicted class.
    """
    key = vocabulary.contributions_key(output)
    maps_ref = reference[vocabulary.ATTRIBUTE_MAPS].ravel().astype("float64")
    maps = predicted[vocabulary.ATTRIBUTE_MAPS].ravel().astype("float64")
    contributions_ref, contributions = reference[key], predicted[key]
    extra = {}
    if reference[output].ndim == 2:
        chosen = np.argmax(reference[output], axis=1)[:, None, None]
        contributions_ref = np.take_along_axis(contributions_ref, chosen, axis=2)[..., 0]
        contributions = np.take_along_axis(contributions, chosen, axis=2)[..., 0]
        extra["class_agreement"] = float(np.mean(
            np.argmax(reference[output], axis=1) == np.argmax(predicted[output], axis=1)))
    return {
        "output_mae": float(np.abs(predicted[output] - reference[output]).mean()),
        "output_kendall_tau": float(stats.kendalltau(reference[output].ravel(),
                                                     predicted[output].ravel()).statistic),
        **extra,
        "attribute_map_r": float(np.corrcoef(maps_ref, maps)[0, 1]),
        "top3_agreement": float((_top3(contributions_ref) == _top3(contributions)).all(axis=1).mean()),
        "contribution_mae": float(np.abs(predicted[key] - reference[key]).mean()),
    }


def explanation_residual(sidecar, predicted):
    """The largest relative residual of the explanations recomputed from a variant's own
    maps with the sidecar's head weights (0 up to float32 rounding when its head is float32)."""
    explanation = SIAMExplanation.from_predictions(
        sidecar.head, predicted, sidecar.image_size, tolerance=math.inf)
    return max(o.max_residual for o in explanation.outputs.values())


def _defined(entry, variant, warnings):
    """`entry`, each undefined (NaN) statistic named in `warnings` (`write_json` writes
    it as null)."""
    for key, value in entry.items():
        if isinstance(value, float) and not math.isfinite(value):
            warnings.append(f"{variant}: {key} is undefined (constant outputs on the held-out "
                            "images?), written as null")
    return entry


def measure(model, files, images, sidecar, latency_runs=1000, threads=THREADS, quantised_whole=None,
            log=print):
    """The fidelity report (`fidelity.json`'s layout) of the TFLite `files` {variant: path}.

    Args:
        model: the Keras model the variants were converted from (the reference).
        files: {variant: .tflite path}.
        images: (N, H, W, 3) held-out pixels.
        sidecar: the model's `ModelSidecar` (its head checks the explanations).
        latency_runs: timed rounds of batch-1 calls.
        quantised_whole: {variant: path} of the variants quantised head included, to
            measure what the float32 head costs (`variants.<variant>.float32_head`).

    Raises:
        ValueError: a variant's explanations, recomputed from its own maps, are off by
            more than `RESIDUAL_TOLERANCE` (its head is not float32).
    """
    output, quantised_whole = sidecar.output_names[0], dict(quantised_whole or {})
    log(f"Fidelity: {len(images)} held-out images against the Keras model")
    reference = {k: np.asarray(v) for k, v in model.predict(
        np.asarray(images, "float32"), batch_size=32, verbose=0).items()}
    variants, warnings, whole = {}, [], {}
    for variant, path in files.items():
        predicted = run_tflite(path, images, threads)
        residual = explanation_residual(sidecar, predicted)
        if not residual <= RESIDUAL_TOLERANCE:
            raise ValueError(
                f"The {variant} model's explanations, recomputed from its own maps, are off by "
                f"{residual:.2g} (more than {RESIDUAL_TOLERANCE:g}): its head is not float32. "
                "Leave this variant out (--tflite).")
        variants[variant] = {
            "size_bytes": Path(path).stat().st_size,
            **_defined(compare(reference, predicted, output), variant, warnings),
            "outputs": {name: _defined(compare(reference, predicted, name), variant, warnings)
                        for name in sidecar.output_names},
            "max_abs_error": max_errors(reference, predicted),
            "explanation_residual": residual,
        }
    for variant, path in quantised_whole.items():
        whole[variant] = {"size_bytes": Path(path).stat().st_size,
                          "residual": explanation_residual(sidecar, run_tflite(path, images, threads))}
    log(f"Latency: {latency_runs} interleaved rounds of batch-1 calls, {threads} threads")
    timed = {**files, **{f"{variant}/whole": path for variant, path in quantised_whole.items()}}
    times, ratios, seconds = latencies(timed, images[0], latency_runs, threads)
    base = variants.get("float32")
    for variant, entry in variants.items():
        entry["latency_ms"] = times[variant]
        entry["size_ratio"] = entry["size_bytes"] / base["size_bytes"] if base else None
        entry["latency_ratio"] = ratios.get(variant)
        if variant in whole:
            entry["float32_head"] = {
                "size_bytes_quantised_whole": whole[variant]["size_bytes"],
                "size_cost_bytes": entry["size_bytes"] - whole[variant]["size_bytes"],
                "latency_ms_quantised_whole": times[f"{variant}/whole"],
                "latency_cost_ratio": paired_ratio(seconds, variant, f"{variant}/whole"),
                "explanation_residual_quantised_whole": whole[variant]["residual"],
            }
    return {"reference": "keras", "output": output, "num_images": int(len(images)),
            "batch_size": 1, "threads": threads, "latency_runs": latency_runs,
            "variants": variants, "warnings": warnings}


def format_fidelity(report):
    """The report as a plain-text table, one row per variant."""
    def cell(key, value):
        if value is None:
            return "-"
        if key == "size_bytes":
            return f"{value:,}"
        if key == "attribute_map_r":
            return f"{value:.5f}"
        return f"{value:.4f}" if key in ("output_mae", "contribution_mae") else f"{value:.3f}"

    rows = [("variant", *KEYS)]
    for variant, entry in report["variants"].items():
        rows.append((variant, *(cell(key, entry.get(key)) for key in KEYS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    title = (f"TFLite fidelity on {report['num_images']} held-out images ({report['output']}; "
             f"latency: batch 1, {report['threads']} threads, medians of {report['latency_runs']} "
             "rounds; ratios to float32 paired by round)")
    return title + "\n" + "\n".join("  ".join(c.rjust(w) if i else c.ljust(w)
                                              for i, (c, w) in enumerate(zip(r, widths)))
                                    for r in rows)
