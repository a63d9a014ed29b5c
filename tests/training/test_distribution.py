"""`train.distribution`: mirrored on two logical CPU devices, data_parallel on two JAX
host devices, and the combinations refused. The runs are fresh processes: devices are
configured before TensorFlow or JAX initialise."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from training import datasets
from training.cli import main
from training.config import ConfigError, load_config
from training.distribution import check_backend, check_batch

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TASKS = ("attribute_scores_loss", "scenicness_loss", "scenicness_variance_loss")
KEYS = ("loss", *TASKS, "val_loss")


def _train_config(*overrides):
    return load_config(None, list(overrides)).train


@pytest.mark.parametrize("distribution, backend, needed, instead", [
    ("mirrored", "jax", "KERAS_BACKEND=tensorflow", "'data_parallel' for the jax backend"),
    ("data_parallel", "tensorflow", "KERAS_BACKEND=jax", "'mirrored' for the tensorflow backend"),
    ("data_parallel", "torch", "KERAS_BACKEND=jax", '"none"'),
    ("multi_host", "tensorflow", "KERAS_BACKEND=jax", "'mirrored' for the tensorflow backend"),
])
def test_a_distribution_on_the_wrong_backend_says_which_to_use(distribution, backend, needed,
                                                               instead):
    config = _train_config(f"train.distribution={distribution}")
    with pytest.raises(ConfigError, match=f"train.distribution = '{distribution}' needs") as error:
        check_backend(config, backend)
    assert needed in str(error.value) and instead in str(error.value)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_one_device_runs_on_every_backend(backend):
    check_backend(_train_config(), backend)  # "none": nothing to refuse


def test_the_process_flags_are_for_multi_host_only(tmp_path, capsys):
    assert main(["--config", "demo", "--out", str(tmp_path / "run"), "--num-processes",
                 "2"]) == 2
    assert "--local-processes, --coordinator, --num-processes and --process-id are for " \
           "train.distribution = \"multi_host\" (set it with --set). Received: " \
           "train.distribution = 'none'" in \
           capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_siam_train_refuses_data_parallel_on_tensorflow_before_writing(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["--keep-unhealthy", "--config", "demo", "--out", str(out), "--set", "train.distribution=data_parallel"])
    assert code == 2
    assert "needs Keras' jax backend; Keras runs on 'tensorflow'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("overrides, match", [
    (["train.distribution=pipeline"], "train.distribution must be one of: none, mirrored, "
                                      "data_parallel, multi_host. Received: 'pipeline'"),
    (['train.devices=["/gpu:0"]'], 'train.devices is for train.distribution = "mirrored" or '
                                   '"data_parallel"'),
    (["train.distribution=mirrored", 'train.devices=["/gpu:0", "/gpu:0"]'],
     "must name each device once"),
])
def test_distribution_settings_are_checked_with_the_config(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, overrides)


def test_the_global_batch_must_split_evenly_over_the_devices():
    with pytest.raises(ValueError, match="multiple of the 4 devices .* Received: batch_size=30. "
                                         "Use e.g. 32"):
        check_batch(_train_config("train.distribution=mirrored", "train.batch_size=30"), 4)
    check_batch(_train_config("train.distribution=mirrored", "train.batch_size=32"), 4)


def test_mirrored_names_a_device_that_does_not_exist():
    from training.distribution import distribution_devices

    config = _train_config("train.distribution=mirrored", 'train.devices=["/gpu:7"]')
    with pytest.raises(ValueError, match="'/gpu:7', which is not a device here. "
                                         "TensorFlow's devices: .*CPU:0"):
        distribution_devices(config)


@pytest.mark.parametrize("replicas, expected", [
    (1, [0, 0, 0, 0, 1, 1, 1, 1]),
    (2, [0, 0, 1, 1, 0, 0, 1, 1]),  # each replica's half: 2 of each dataset
    (4, [0, 1, 0, 1, 0, 1, 0, 1]),
])
def test_mixed_batches_give_each_replica_its_share_of_each_dataset(replicas, expected):
    config = _train_config("train.augmentation.flip=false", "train.augmentation.crop_min_scale=1",
                           "train.augmentation.rotation_degrees=0")
    parts = [tf.data.Dataset.from_tensor_slices((np.full((8, 2, 2, 3), source, "uint8"),
                                                 {"source": np.full(8, source, "float32")},
                                                 {"source": np.ones(8, "float32")}))
             for source in (0, 1)]
    batch = next(iter(datasets.mixed_batches(parts, 4, config, num_replicas=replicas).dataset()))
    assert batch[1]["source"].numpy().tolist() == expected
    assert batch[0][:, 0, 0, 0].numpy().tolist() == expected  # images travel with their labels


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """`tests/training/mirrored_runs.py` in a fresh process (two logical CPU devices)."""
    out = tmp_path_factory.mktemp("mirrored")
    result = subprocess.run([sys.executable, "-m", "tests.training.mirrored_runs", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), out


@pytest.mark.slow
def test_mirrored_on_two_devices_trains_as_one_device(mirrored):
    """Same seed, same global batch: the demo config's per-epoch losses on two devices
    (each half the batch) are one device's, to 1e-3 relative."""
    results, _ = mirrored
    one, two = results["one_device"], results["mirrored"]
    assert [row["epoch"] for row in two] == [row["epoch"] for row in one] == ["0", "1"]
    for expected, got in zip(one, two):
        for key in KEYS:
            assert float(got[key]) == pytest.approx(float(expected[key]), rel=1e-3), key
    # The penalties (template and contribution L1: the loss beyond the task losses) are
    # too small a part of the loss for 1e-3 to see them counted twice: 1% of their own.
    penalty = lambda row: float(row["loss"]) - sum(float(row[key]) for key in TASKS)  # noqa: E731
    assert [penalty(row) for row in two] == pytest.approx([penalty(row) for row in one], rel=1e-2)
    log = results["mirrored_log"]
    assert "Training on 2 device(s) (mirrored): CPU:0, CPU:1; global batch 16, 8 per device (of each dataset, when several are mixed)" in log
    assert "  float32 compute, optimizer Adam, on 2 devices" in log  # as the model was built


@pytest.mark.slow
def test_one_mirrored_sgd_step_is_the_one_device_step(mirrored):
    """The gradient is the global batch's mean, not its sum over replicas (a factor of 2
    that Adam's scale invariance would hide from the loss comparison above)."""
    assert mirrored[0]["sgd_step"] < 1e-4


@pytest.mark.slow
def test_with_empty_cells_a_mirrored_step_is_the_one_device_step(mirrored):
    """The masked losses are means over the labelled rows of the whole global batch:
    each replica used to average over its own (here 1 and 2 labelled rows)."""
    assert mirrored[0]["sgd_step_empty_cells"] < 1e-4


@pytest.mark.slow
def test_a_killed_mirrored_run_resumes_and_finishes(mirrored):
    results, out = mirrored
    log = results["mirrored_log"]
    killed = log.index("<killed>")
    assert any("Resuming at epoch 2 of 2" in line for line in log[killed:])
    assert [row["epoch"] for row in results["mirrored"]] == ["0", "1"]  # each epoch once
    assert (out / "mirrored" / "model.keras").is_file()
    assert not (out / "mirrored" / "checkpoints").exists()


@pytest.mark.slow
def test_an_overflow_on_one_replica_skips_the_step_on_all(mirrored):
    """Keras' own LossScaleOptimizer checks the first replica's gradients only."""
    overflow = mirrored[0]["overflow"]
    assert overflow == {"optimizer": "ReplicaSafeLossScaleOptimizer", "steps_applied": 0,
                        "weights_finite": True}


def _siam_train(*args, out, env=None):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="jax",
                       XLA_FLAGS="--xla_force_host_platform_device_count=2", **(env or {}))
    return subprocess.run([str(BIN / "siam-train"), "--config", "demo", "--out", str(out),
                           "--keep-unhealthy", "--set", *args, "train.min_steps_per_epoch=1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=environment)


@pytest.mark.slow
def test_data_parallel_trains_on_two_jax_devices_and_the_model_loads_under_tensorflow(tmp_path):
    from siam_keras.saving import load_model

    out = tmp_path / "jax"
    result = _siam_train("data.image_size=32", "data.synthetic_scenes.num_train=32",
                         "data.synthetic_scenes.num_validation=17",
                         "data.synthetic_scenes.num_test=65",
                         "data.synthetic_scenes.truth_template_size=4", "model.template_size=4",
                         "train.epochs=2", "train.batch_size=16", "baseline.enabled=false",
                         "train.distribution=data_parallel", out=out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Training on 2 device(s) (data_parallel): cpu:0, cpu:1; global batch 16, 8 per " \
           "device" in result.stdout
    assert "  float32 compute, optimizer Adam, on 2 devices" in result.stdout
    assert "Epoch 2/2" in result.stdout
    model = load_model(out / "model.keras")  # saved on JAX, loaded here on TensorFlow
    outputs = model.predict(np.zeros((3, 32, 32, 3), "float32"), verbose=0)
    assert outputs["scenicness"].shape == (3,) and np.isfinite(outputs["scenicness"]).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["outputs"]["scenicness"]["num_images"] == 65


@pytest.mark.slow
def test_siam_train_refuses_mirrored_on_jax_before_writing(tmp_path):
    result = _siam_train("train.distribution=mirrored", out=tmp_path / "run")
    assert result.returncode == 2
    assert "train.distribution = 'mirrored' needs Keras' tensorflow backend; Keras runs on " \
           "'jax' here" in result.stderr
    assert "KERAS_BACKEND=tensorflow, or set train.distribution = 'data_parallel'" in result.stderr
    assert not (tmp_path / "run").exists()


def test_the_launcher_gives_each_process_the_command_without_itself():
    """Each started process runs the same command less --local-processes (in any
    spelling argparse takes: abbreviations are refused, or every process would launch)."""
    from training.cli import _without_launcher, build_parser

    assert _without_launcher(["--config", "demo", "--local-processes", "2", "--set", "a=1"]) \
        == ["--config", "demo", "--set", "a=1"]
    assert _without_launcher(["--local-processes=2", "--out", "x"]) == ["--out", "x"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--local", "2"])
