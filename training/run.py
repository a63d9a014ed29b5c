"""The training job: build -> fit -> evaluate -> write, for SIAM and the baseline, on any
data source (`training.sources`)."""

import contextlib
import time
from pathlib import Path

import keras
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.metrics.report import format_report
from siam_keras.runtime.atomic import write_json
from siam_keras.runtime.run_lock import RunLock
from siam_keras.saving import load_model
from training import multi_host
from training.builders import (
    baseline_from_config,
    dtype_policy,
    loss_setup,
    output_losses,
    siam_model_from_config,
    trained_as,
    validation,
)
from training.callbacks import AttributeMapImages
from training.distribution import describe, distribution_devices, evaluable, training_scope
from training.fit import MODEL_FILE, Stage, fit_stage
from training.health import check_health
from training.photo_distribution import keep_training_distribution
from training.run_folder import (
    METRICS_FILE,
    PRESET_FOLDER,
    RUN_ENTRIES,
    RunFolderError,
    prepare_run_folder,
)
from training.sources import data_source


def run(config, out_dir, overwrite=False, log=print, keep_unhealthy=False):
    """Runs the whole job described by `config`; returns the metrics dict.

    Writes `out_dir/model.keras`, `history.csv`, `metrics.json`, `config.toml`,
    `attribute_maps.png`, `tensorboard/`, `baseline/` for the baseline and, with
    `train.attribute_epochs`, `attribute_stage/` (`training.run_folder`: what is
    resumed, refused and replaced).

    With `train.distribution` it trains on several devices (`training.distribution`)
    and evaluates on one; a distribution the Keras backend cannot run, unknown
    devices, or a batch that does not split over them are refused before anything
    is written. Another run on the same folder is refused while this one runs
    (`RunLock`).

    Raises:
        RunLockedError: another command writes `out_dir` now.
        UnhealthyModel: the kept SIAM model predicts a constant, has dead attributes or
            non-finite outputs (`training.health`), unless `keep_unhealthy`; everything is
            written first, `metrics.json`'s `health` included.
    """
    devices = distribution_devices(config.train)
    out = Path(out_dir)
    if multi_host.process_index() > 0:
        return _follow(config, out, devices, keep_unhealthy)
    with contextlib.ExitStack() as held:
        try:
            if out.exists() and not out.is_dir():
                raise RunFolderError(f"--out {out} is a file, not a folder")
            # A second run on this folder is refused, naming this one.
            held.enter_context(RunLock(out, "siam-train"))
        except BaseException:
            multi_host.broadcast_flag(False)  # the other processes wait for the folder
            raise
        return _run(config, out, devices, overwrite, log, keep_unhealthy)


def _follow(config, out, devices, keep_unhealthy):
    """A process other than 0 of a multi-process job: it runs the same job, silently, in
    a scratch copy of the run folder process 0 prepared (so it resumes where process 0
    resumes), thrown away at the end: only process 0 writes --out."""
    import shutil
    import tempfile

    index = multi_host.process_index()
    if not multi_host.broadcast_flag(True):
        raise RunFolderError(f"process {index}: process 0 could not prepare or lock --out "
                             f"{out}; its error says why")
    with tempfile.TemporaryDirectory(prefix="siam-train-process-") as scratch:
        copy = Path(scratch) / "run"
        copied = None
        try:
            copy.mkdir()
            for name in RUN_ENTRIES:  # what resuming reads, nothing else
                source = out / name
                if source.is_dir():
                    shutil.copytree(source, copy / name)
                elif source.is_file():
                    shutil.copy2(source, copy / name)
        except OSError as error:
            copied = error
        if not multi_host.all_ok(copied is None):
            raise RunFolderError(f"process {index} could not copy process 0's --out {out} "
                                 f"(it must be shared, or copied to every host): "
                                 f"{copied or 'another process failed to'}")
        return _run(config, copy, devices, False, lambda *args, **kwargs: None, keep_unhealthy)


def _run(config, out, devices, overwrite, log, keep_unhealthy):
    if multi_host.process_index() == 0:
        try:
            prepare_run_folder(out, config, overwrite, log)
        except BaseException:
            multi_host.broadcast_flag(False)
            raise
        multi_host.broadcast_flag(True)
        if not multi_host.all_ok(True):
            raise RunFolderError("a process could not copy --out to run from it (it must be "
                                 "shared, or copied to every host); its error says which")
    else:
        prepare_run_folder(out, config, False, log)
    keras.utils.set_random_seed(config.train.seed)
    if dtype_policy(config) and not tf.config.list_physical_devices("GPU"):
        log("warning: mixed precision without a GPU trains about 5x slower than float32 on CPU")
    if devices:
        log(describe(config.train, devices))
    source = data_source(config, log)
    source.prepare()
    metrics = train_and_evaluate(config, source, out, log)
    write_json(out / METRICS_FILE, metrics)
    log("\n" + format_report(metrics))
    written = [out / MODEL_FILE, out / METRICS_FILE, out / "attribute_maps.png"]
    if config.train.save_preset:
        written.append(_save_preset(out))
    log(f"\nWrote {', '.join(map(str, written))}")
    check_health(metrics["health"], keep_unhealthy, log)
    return metrics


def _save_preset(out):
    """The kept SIAM model (read from its file: with its photo distribution) as the run's
    keras-hub preset folder; the run itself is finished and kept if this fails."""
    try:
        return load_model(out / MODEL_FILE).save_to_preset(out / PRESET_FOLDER)
    except (OSError, ValueError) as error:
        raise type(error)(f"The run finished ({out / METRICS_FILE}), but its preset could not "
                          f"be written to {out / PRESET_FOLDER}: {error}. Write it with "
                          f"SIAMModel.save_to_preset after freeing the folder.") from error


def train_and_evaluate(config, source, out, log=print):
    """SIAM (an attribute stage first if configured), then the baseline, on a prepared
    `DataSource`; returns the metrics dict, with the kept models' `health`
    (`training.health`)."""
    siam, siam_validation, seconds = _train_siam(config, source, out, log)
    siam = evaluable(siam, out / MODEL_FILE, config.train)
    log("[3/4] Evaluating SIAM on the test split")
    report, predictions = source.evaluate(siam)
    source.plot_preview(out / "attribute_maps.png", predictions)
    dataset = source.description()
    dataset.setdefault("num_images", report["outputs"][list(source.output_names)[0]]["num_images"])
    siam_validation.evaluate(siam)
    distribution = keep_training_distribution(
        siam, source, out / MODEL_FILE, predictions.get(vocabulary.ATTRIBUTE_MAPS), log)
    metrics = {"dataset": dataset, **report, "training_distribution": distribution,
               "training": {"siam_seconds": round(seconds, 1),
                            "steps_per_epoch": source.steps_per_epoch()},
               "health": {"siam": siam_validation.report.to_json()}}
    if config.baseline.enabled:
        log(f"[4/4] Training the unconstrained baseline ({config.baseline.epochs} epochs)")
        start = time.perf_counter()
        baseline, baseline_validation = _train_baseline(config, source, out, log)
        metrics["baseline"], _ = source.evaluate(baseline)
        baseline_validation.evaluate(baseline)
        metrics["health"]["baseline"] = baseline_validation.report.to_json()
        metrics["training"]["baseline_seconds"] = round(time.perf_counter() - start, 1)
    else:
        log("[4/4] Baseline disabled (baseline.enabled = false)")
    return metrics


def _train_siam(config, source, out, log):
    """(the best SIAM model, its `ValidationLosses`, training seconds)."""
    train = config.train
    attributes, outputs = list(source.attribute_names), dict(source.output_kinds)
    steps, means = source.steps_per_epoch(), source.label_means()
    passes = steps / source.steps_per_pass()
    if passes > 1.5:
        key = "steps_per_epoch" if train.steps_per_epoch else "min_steps_per_epoch"
        log(f"      an epoch is {steps} steps, {passes:.1f} passes over the training images "
            f"(train.{key} = {steps}: a small data set needs more steps than a pass gives)")
    with training_scope(config.train):  # models, optimizers and training data built inside
        siam = siam_model_from_config(config, attributes, outputs, means)
        start = time.perf_counter()
        if train.attribute_epochs:
            siam = _attribute_stage(config, source, out, siam, log)
        log(f"[2/4] Training SIAM ({config.model.backbone}, {train.epochs} epochs of {steps} "
            f"steps, {train.loss_weighting} loss weighting; the best epoch by validation)")
        preview = source.preview_images()
        callbacks = [] if preview is None else [
            AttributeMapImages(out / "tensorboard" / "attribute_maps", preview, attributes)]
        losses, weights = loss_setup(config, outputs)
        checks = validation(config, source.validation_data(), outputs,
                            attribute_names=attributes, log=log)
        data = source.training_data()
        stage = Stage(out, train.epochs, steps, train, callbacks=callbacks,
                      trained_as=trained_as(config, siam, train.freeze_backbone))
        siam = fit_stage(siam, stage, losses=losses, loss_weights=weights, train_data=data,
                         validation=checks, log=log)
    return siam, checks, time.perf_counter() - start


def _attribute_stage(config, source, out, siam, log):
    """Trains SIAM's attributes alone (`train.attribute_epochs`, into `attribute_stage/`),
    the output head frozen; returns the best model of that stage."""
    train, attributes = config.train, list(source.attribute_names)
    outputs, steps = dict(source.output_kinds), source.steps_per_epoch()
    log(f"[2/4] Training SIAM: attributes first ({train.attribute_epochs} epochs of "
        f"{steps} steps"
        f"{', backbone frozen' if train.freeze_backbone_attribute_stage else ''})")
    losses, weights = loss_setup(config, outputs, with_outputs=False)
    data = source.training_data(with_outputs=False)
    checks = validation(config, source.validation_data(with_outputs=False), outputs,
                        with_outputs=False, attribute_names=attributes, log=log)
    stage = Stage(out / "attribute_stage", train.attribute_epochs, steps, train,
                  trained_as=trained_as(config, siam, train.freeze_backbone_attribute_stage,
                                        attributes_only=True))
    return fit_stage(siam, stage, losses=losses, loss_weights=weights, train_data=data,
                     validation=checks, log=log)


def _train_baseline(config, source, out, log):
    """(the best baseline, its `ValidationLosses`), evaluable on one device."""
    outputs = dict(source.output_kinds)
    checks = validation(config, source.validation_data(with_attributes=False), outputs,
                        with_attributes=False, log=log)
    with training_scope(config.train):
        baseline = baseline_from_config(config, outputs, source.label_means())
        losses, weights = output_losses(config, outputs)
        data = source.training_data(with_attributes=False)
        stage = Stage(out / "baseline", config.baseline.epochs, source.steps_per_epoch(),
                      config.train)
        baseline = fit_stage(baseline, stage, losses=losses, loss_weights=weights,
                             train_data=data, validation=checks, log=log)
    return evaluable(baseline, out / "baseline" / MODEL_FILE, config.train), checks
