"""train.distribution = "multi_host": two processes on 127.0.0.1 (JAX, Gloo), started by
`siam-train --local-processes 2`, train as one process over two devices; each reads its
own rows; only process 0 writes; a killed process leaves a job that resumes."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent
#: The demo config shrunk, augmentation on (the warps are drawn per global batch).
SHRUNK = ["data.image_size=32", "data.synthetic_scenes.num_train=32",
          "data.synthetic_scenes.num_validation=17", "data.synthetic_scenes.num_test=65",
          "data.synthetic_scenes.truth_template_size=4", "model.template_size=4",
          "train.batch_size=16", "baseline.enabled=false", "train.lr_decay_epochs=[1]"]


def _siam_train(out, *overrides, processes=None, devices=1, tmp=None, wait=True,
                config="demo", shrunk=SHRUNK):
    environment = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2",
                       XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    if tmp is not None:
        environment["TMPDIR"] = str(tmp)
    command = [str(BIN / "siam-train"), "--config", str(config), "--out", str(out),
               "--keep-unhealthy", "--set", *shrunk, *overrides]
    if processes:
        command += ["--local-processes", str(processes)]
    if not wait:
        return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, env=environment, capture_output=True, text=True,
                          timeout=600)


def _history(folder):
    with open(folder / "history.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_two_processes_train_as_one_process_on_two_devices(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    two = _siam_train(tmp_path / "multi_host", "train.distribution=multi_host", "train.epochs=2",
                      "train.min_steps_per_epoch=2", processes=2, tmp=scratch)
    assert two.returncode == 0, two.stdout[-2000:] + two.stderr[-3000:]
    assert re.search(r"Training on 2 device\(s\) \(multi_host\): cpu:0, cpu:\d+; global batch "
                     r"16, 8 per device \(of each dataset, when several are mixed\); 2 "
                     r"processes", two.stdout), two.stdout[:2000]
    one = _siam_train(tmp_path / "data_parallel", "train.distribution=data_parallel",
                      "train.epochs=2", "train.min_steps_per_epoch=2", devices=2)
    assert one.returncode == 0, one.stderr[-3000:]
    expected, got = _history(tmp_path / "data_parallel"), _history(tmp_path / "multi_host")
    assert [row["epoch"] for row in got] == ["0", "1"]
    keys = [key for key in expected[0] if key not in ("epoch", "epoch_seconds")]
    first = {key: float(got[0][key]) for key in keys if key.endswith("_loss") or key == "loss"}
    # The first epoch: one step's losses, then the first update's; both epochs to 1e-3.
    assert first == pytest.approx({k: float(expected[0][k]) for k in first}, rel=1e-4)
    for want, have in zip(expected, got):
        for key in keys:
            assert float(have[key]) == pytest.approx(float(want[key]), rel=1e-3, abs=1e-6), key
    # Only process 0 wrote: process 1's scratch copy of the run folder is gone.
    assert sorted(os.listdir(scratch)) == []
    written = sorted(p.name for p in (tmp_path / "multi_host").iterdir())
    assert written == ["attribute_maps.png", "config.toml", "history.csv", "metrics.json",
                       "model.keras", "tensorboard"]


@pytest.mark.slow
def test_with_empty_cells_two_processes_step_as_one_device(tmp_path):
    """A manifest whose training rows lack some labels: each process holds other numbers
    of labelled rows, and the masked losses are still means over the global batch's."""
    from siam_keras.data.example_photos import write_example_photos

    write_example_photos(tmp_path, num_images=48, image_size=32)
    with open(tmp_path / "photos.csv", newline="") as file:
        header, *rows = list(csv.reader(file))
    for index, row in enumerate(rows[:32]):  # training rows
        if index % 2 == 0:
            row[1:9] = [""] * 8  # no attributes
        if index % 3 == 1:
            row[9] = ""  # no scenicness
    splits = ["train"] * 32 + ["validation"] * 8 + ["test"] * 8
    with open(tmp_path / "photos.csv", "w", newline="") as file:
        csv.writer(file).writerows([header + ["split"]] + [r + [s] for r, s in zip(rows, splits)])
    (tmp_path / "config.toml").write_text(f"""
[data]
dataset = "manifest"
[data.manifest]
files = ["photos.csv"]
attribute_columns = {json.dumps(header[1:9])}
split_column = "split"
[data.manifest.outputs]
scenicness = "regression"
""")
    shrunk = ["data.image_size=32", "model.template_size=4", "train.epochs=1",
              "train.steps_per_epoch=1", "train.batch_size=8", "train.lr_decay_epochs=[]",
              "baseline.enabled=false"]
    from training.config import load_config
    from training.sources import data_source

    source = data_source(load_config(tmp_path / "config.toml", shrunk), log=lambda *_: None)
    source.prepare()
    _, _, weights = next(iter(source.training_data().dataset()))  # the step's global batch
    halves = {key: (int(w[:4].numpy().sum()), int(w[4:].numpy().sum()))
              for key, w in weights.items()}
    assert halves == {"scenicness": (2, 4), "attribute_scores": (3, 2)}  # uneven: it can fail
    two = _siam_train(tmp_path / "multi_host", "train.distribution=multi_host", processes=2,
                      config=tmp_path / "config.toml", shrunk=shrunk)
    assert two.returncode == 0, two.stdout[-2000:] + two.stderr[-3000:]
    one = _siam_train(tmp_path / "one", config=tmp_path / "config.toml", shrunk=shrunk)
    assert one.returncode == 0, one.stderr[-3000:]
    expected, got = _history(tmp_path / "one"), _history(tmp_path / "multi_host")
    # The step's losses (before it) and the validation's after it.
    keys = [key for key in expected[0] if key == "loss" or key.endswith("_loss")]
    assert len(keys) > 4
    for key in keys:
        assert float(got[0][key]) == pytest.approx(float(expected[0][key]), rel=1e-4), key


def test_each_process_reads_its_own_rows_and_together_every_row(monkeypatch):
    """Per global batch, each process takes its slice (its share of each dataset when two
    are mixed); the slices are disjoint and are the one-process batch; the augmentation
    warps each row as one process would."""
    import tensorflow as tf

    from training import datasets, multi_host
    from training.config import load_config

    train = load_config(None, ["train.seed=3"]).train
    rows = np.arange(40, dtype="int32")
    # Each row its own picture (a gradient, so that every warp changes it).
    ramp = np.arange(8, dtype="int32")[None, :, None, None] * 9 + np.arange(8)[None, None, :,
                                                                            None]
    images = ((ramp + rows[:, None, None, None] * 3) % 200).astype("uint8")
    images = np.broadcast_to(images, (40, 8, 8, 3)).copy()
    part = lambda offset: tf.data.Dataset.from_tensor_slices(  # noqa: E731
        (images + offset // 2, {"y": rows + offset}, {"y": np.ones(40, "float32")}))

    def batches(index, count, mixed):
        monkeypatch.setattr(multi_host, "process_count", lambda: count)
        monkeypatch.setattr(multi_host, "process_index", lambda: index)
        if mixed:
            data = datasets.mixed_batches([part(0), part(100)], 8, train, num_replicas=2)
        else:
            data = datasets.make_dataset(images, {"y": rows}, {"y": np.ones(40, "float32")},
                                         8, True, train)
        return [(x.numpy(), y["y"].numpy()) for x, y, _ in data.dataset().take(5)]

    unwarped = np.stack([images[r] for r in rows]).astype("float32")
    for mixed in (False, True):
        whole = batches(0, 1, mixed)
        if not mixed:  # the warps do change the pictures: the check below can fail
            x, y = whole[0]
            assert np.abs(x - unwarped[y]).max() > 1
        shards = [batches(index, 2, mixed) for index in (0, 1)]
        for step, (x, y) in enumerate(whole):
            first, second = shards[0][step], shards[1][step]
            assert not set(first[1]) & set(second[1])
            assert sorted([*first[1], *second[1]]) == sorted(y)
            joined = np.concatenate([first[0], second[0]])
            order = [list(y).index(value) for value in [*first[1], *second[1]]]
            np.testing.assert_allclose(joined, x[order], atol=1e-4)  # the same warps
            if mixed:  # half of each dataset on each process
                assert sum(value >= 100 for value in first[1]) == len(first[1]) // 2


@pytest.mark.slow
def test_a_killed_process_stops_the_job_and_a_restart_resumes(tmp_path):
    out = tmp_path / "run"
    job = _siam_train(out, "train.distribution=multi_host", "train.epochs=2",
                      "train.min_steps_per_epoch=8", processes=2, wait=False)
    state = out / "checkpoints" / "state.json"
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and job.poll() is None:
            if state.is_file() and '"epoch": 1' in state.read_text():  # epoch 0 committed
                break
            time.sleep(0.05)
        assert job.poll() is None and '"epoch": 1' in state.read_text(), "epoch 0 unseen"
        children = subprocess.run(["pgrep", "-f", "--", f"{re.escape(str(out))} .*--process-id 1"],
                                  capture_output=True, text=True).stdout.split()
        assert children, "process 1 was not found running"
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        killed = time.monotonic()
        output, _ = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    # The launcher stopped the job within seconds, not after JAX's 100 s heartbeat.
    assert job.returncode != 0, output[-2000:]
    assert time.monotonic() - killed < 40
    again = _siam_train(out, "train.distribution=multi_host", "train.epochs=2",
                        "train.min_steps_per_epoch=8", processes=2)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert "Resuming at epoch 2 of 2" in again.stdout
    assert [row["epoch"] for row in _history(out)] == ["0", "1"]
    assert (out / "model.keras").is_file() and not (out / "checkpoints").exists()
