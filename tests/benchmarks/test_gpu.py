"""`benchmarks.gpu`: its smoke run on both backends (each in a fresh process), the
isolated configurations' processes, the skipped-step count, the settings, the table."""

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from benchmarks import gpu

ROOT = Path(__file__).resolve().parents[2]
#: Runs the smoke benchmark, then fails if TensorFlow was imported under JAX.
SMOKE = ("import sys; from benchmarks.gpu import main; main(['--smoke', '--json', sys.argv[1]]);"
         "leaked = __import__('keras').backend.backend() == 'jax' and "
         "'tensorflow' in sys.modules; sys.exit('TensorFlow imported under JAX' if leaked else 0)")


def _environment(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend == "jax":  # compiles faster: the smoke run is all compilation
        env.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_smoke_run_on_each_backend(backend, tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-c", SMOKE, str(out)], cwd=ROOT,
                            env=_environment(backend), capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert [(r["model"], r["policy"]) for r in rows] == [("paper", p) for p in gpu.POLICIES]
    for row in rows:
        assert row["backend"] == backend and row["setup"] == "small_cnn 32 px, 2 + 2 images"
        assert row["images_per_step"] == 4 and len(row["step_seconds"]) == 3
        assert row["images_per_s"] > 0 and row["p10_s"] <= row["median_s"] <= row["p90_s"]
        assert row["peak_bytes"] > 2**20
        assert ("peak RSS" in row["peak_source"]) == (row["device"] == "CPU"), row["peak_source"]
        assert (row["loss_scale"] is not None) == (row["policy"] == "mixed_float16")
    assert len(rows[1]["loss_scale"]["by_step"]) == 3
    assert re.search(r"\npaper +mixed_float16 +small_cnn 32 px, 2 \+ 2 images +[0-9.]+ ", result.stdout)
    assert "paper mixed_float16 loss scale: initial 32768" in result.stdout


def test_an_isolated_configuration_runs_in_a_fresh_process_and_reads_its_line(monkeypatch):
    """The command a fresh process gets, and its result line read back (the smoke runs
    cover what the child runs: `run_configuration`, and JSON of its results)."""
    seen = {}

    def fake_run(command, **kwargs):
        seen.update(command=command, cwd=kwargs["cwd"])
        stdout = "compiling...\n" + gpu.RESULT + json.dumps({"model": "demo", "x": 1}) + "\n"
        return subprocess.CompletedProcess(command, 0, stdout, "")

    monkeypatch.setattr(gpu.subprocess, "run", fake_run)
    args = argparse.Namespace(warmup_steps=3, steps=7, smoke=False)
    assert gpu.run_isolated("demo", "float32", args) == {"model": "demo", "x": 1}
    assert seen["command"] == [sys.executable, "-m", "benchmarks.gpu", "--only", "demo:float32",
                               "--warmup-steps", "3", "--steps", "7"]
    assert seen["cwd"] == ROOT


def test_a_failing_configuration_names_itself(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "no_such_backend")
    args = argparse.Namespace(warmup_steps=0, steps=1, smoke=True)
    with pytest.raises(RuntimeError, match=r"demo under float32 failed \(exit 1\)"):
        gpu.run_isolated("demo", "float32", args)


def test_skipped_steps_are_counted_and_the_scale_halves():
    """A loss scale of 2^40 overflows float16 gradients: every step is skipped, and the
    scale halves after each."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(1, dtype="mixed_float16")(inputs))
    finally:
        keras.config.set_dtype_policy(policy)
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1),
                                                      initial_scale=2.0**40), loss="mse")
    x, y = np.ones((2, 4), "float32"), np.full((2, 1), 1000.0, "float32")
    seconds, scales, skipped = gpu.train_steps(model, x, y, None, 3)
    assert skipped == [True, True, True] and scales == [2.0**39, 2.0**38, 2.0**37]
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1),
                                                      initial_scale=1.0), loss="mse")
    assert gpu.train_steps(model, x, y / 1000, None, 2)[1:] == ([1.0, 1.0], [False, False])


def test_runs_of_equal_values_are_counted():
    assert gpu._runs([32768.0, 32768.0, 16384.0, 32768.0]) == "32768 x2, 16384, 32768"
    assert gpu._runs([]) == ""


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        gpu.main(["--only", "paper:float64"])
    assert "--only takes MODEL:POLICY" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gpu.main(["--steps", "0"])
    assert "--steps >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("model_name", list(gpu.CONFIGS))
def test_each_configuration_is_the_config_siam_train_reads(model_name):
    """Random backbone weights and the policy's `train.mixed_precision` are all that
    changes; --smoke changes sizes only."""
    from training.config import load_config

    base = load_config(gpu.CONFIGS[model_name])
    for policy in gpu.POLICIES:
        config = gpu.config_for(model_name, policy, smoke=False)
        assert config.model.backbone_weights == ""
        assert config.train.mixed_precision == (policy == "mixed_float16")
        assert config.data == base.data
        assert dataclasses.replace(config.model, backbone_weights=base.model.backbone_weights) \
            == base.model
        assert dataclasses.replace(config.train, mixed_precision=base.train.mixed_precision) \
            == base.train
    smoke = gpu.config_for(model_name, "float32", smoke=True)
    assert smoke.data.image_size == 32 and smoke.train.batch_size in (2, 4)
    assert smoke.train.optimizer == base.train.optimizer


def test_the_paper_step_is_built_by_siam_trains_code():
    """The paper config's optimizer (PyTorch's Adam, loss-scaled under float16), its loss
    weighting and its model come from `training.builders` and `training.optimizers`."""
    trained, images, targets, weights, described = gpu.build("paper", "mixed_float16", True)
    assert type(trained).__name__ == "PaperLossWeighting"
    assert isinstance(trained.optimizer, keras.optimizers.LossScaleOptimizer)
    assert type(trained.optimizer.inner_optimizer).__name__ == "PyTorchAdam"
    assert described == "small_cnn 32 px, 2 + 2 images" and tuple(images.shape) == (4, 32, 32, 3)
    assert {layer.dtype_policy.name for layer in trained.layers if layer.weights} \
        == {"mixed_float16"}
    bfloat16, *_ = gpu.build("paper", "mixed_bfloat16", True)
    assert not isinstance(bfloat16.optimizer, keras.optimizers.LossScaleOptimizer)
    assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in bfloat16.layers}
    assert keras.config.dtype_policy().name == "float32"  # the global policy is put back
    demo, images, targets, _, described = gpu.build("demo", "float32", True)
    assert type(demo).__name__ == "ReplicaSafeModel" and described == "small_cnn 32 px, 4 images"
    assert targets["attribute_scores"].shape == (4, 8) and tuple(images.shape) == (4, 32, 32, 3)


def test_a_failing_configuration_is_reported_and_the_others_still_run(monkeypatch, capsys):
    def fake_isolated(model_name, policy, args):
        if policy == "mixed_float16":
            raise RuntimeError(f"{model_name} under {policy} failed (exit 1):\nout of memory")
        return {"model": model_name, "policy": policy}

    monkeypatch.setattr(gpu, "run_isolated", fake_isolated)
    monkeypatch.setattr(gpu, "table", lambda results: f"{len(results)} rows")
    assert gpu.main(["--models", "demo"]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "2 rows"
    assert "out of memory" in err and "1 of 3 configurations failed: demo under mixed_float16" in err
