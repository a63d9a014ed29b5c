"""`TrainingBatches`: the training order is set by `train.seed` alone, so that a new
iterator, a resumed run and a distributed run read the batches a plain run reads."""

import numpy as np
import pytest
import tensorflow as tf

from training import datasets
from training.config import load_config

ROWS = 20


def _train(*overrides):
    return load_config(None, ["train.seed=5", *overrides]).train


def _part(offset=0):
    """ROWS rows, each its own picture (a ramp, so that every warp changes it) and label."""
    rows = np.arange(ROWS, dtype="int32") + offset
    ramp = np.arange(8)[:, None] * 9 + np.arange(8)[None, :]
    images = ((ramp[None] + rows[:, None, None] * 3) % 200).astype("uint8")
    images = np.repeat(images[..., None], 3, axis=-1)
    return tf.data.Dataset.from_tensor_slices(
        (images, {"y": rows}, {"y": np.ones(ROWS, "float32")}))


def _read(dataset, steps):
    return [(x.numpy(), y["y"].numpy()) for x, y, _ in dataset.take(steps)]


def _assert_same(got, want):
    assert len(got) == len(want)
    for (x, y), (x0, y0) in zip(got, want):
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("mixed", [False, True], ids=["one_dataset", "two_mixed"])
def test_every_iterator_reads_the_same_batches_and_an_epoch_starts_where_it_left(mixed):
    train = _train()  # augmentation on: the warps follow the steps too
    if mixed:  # streamed, through a shuffle buffer smaller than the data
        batches = datasets.mixed_batches([_part(), _part(100)], 3, train, shuffle_buffer=4,
                                         num_replicas=1)
    else:
        images = np.stack([x for x, _, _ in _part().as_numpy_iterator()])
        batches = datasets.make_dataset(images, {"y": np.arange(ROWS, dtype="int32")},
                                        {"y": np.ones(ROWS, "float32")}, 3, True, train)
    plain = _read(batches.dataset(), 17)
    next(iter(batches.dataset()))  # a batch read ahead, as Keras does under a strategy
    _assert_same(_read(batches.dataset(), 17), plain)
    # Epochs of 4 steps: the third starts at step 8, a pass and a half into each dataset.
    _assert_same(_read(batches.dataset(2, 4), 9), plain[8:])
    # Each pass holds every row once, in an order of its own.
    labels = np.concatenate([y for _, y in plain])
    first = labels[labels < 100][:ROWS]
    second = labels[labels < 100][ROWS:2 * ROWS]
    assert sorted(first) == sorted(second) == list(range(ROWS))
    assert list(first) != list(second)


def test_the_order_follows_the_seed():
    orders = [np.concatenate([y for _, y in _read(datasets.mixed_batches(
        [_part()], 4, _train(f"train.seed={seed}"), shuffle_buffer=ROWS).dataset(), 5)])
        for seed in (1, 1, 2)]
    np.testing.assert_array_equal(orders[0], orders[1])
    assert list(orders[0]) != list(orders[2])


def test_too_few_rows_for_a_batch_are_refused():
    with pytest.raises(ValueError, match=r"3 training images are fewer than a batch "
                                         r"\(train.batch_size=4\)"):
        datasets.make_dataset(np.zeros((3, 2, 2, 3), "uint8"), {}, {}, 4, True, _train())
    with pytest.raises(ValueError, match=r"Received: dataset 2 of 2 with 0 rows"):
        datasets.mixed_batches([_part(), _part().take(0)], 4, _train(), num_replicas=1)
    unknown = _part().filter(lambda *row: True)  # a stream whose length tf.data cannot tell
    with pytest.raises(ValueError, match=r"dataset 1 of 1 with an unknown or endless length"):
        datasets.mixed_batches([unknown], 4, _train())
    with pytest.raises(ValueError, match=r"Received: first_epoch=2, steps_per_epoch=0"):
        datasets.mixed_batches([_part()], 4, _train()).dataset(2)


def test_whole_batches_are_what_one_process_reads_in_a_job_of_several(monkeypatch):
    """`whole_batches` (the training distribution's photos): every row of each global batch
    in every process, where training keeps each process's own rows."""
    from training import multi_host

    images = np.stack([x for x, _, _ in _part().as_numpy_iterator()])
    batches = datasets.make_dataset(images, {"y": np.arange(ROWS, dtype="int32")},
                                    {"y": np.ones(ROWS, "float32")}, 4, True, _train())
    alone = _read(batches.dataset(), 3)
    monkeypatch.setattr(multi_host, "process_count", lambda: 2)
    monkeypatch.setattr(multi_host, "process_index", lambda: 1)
    _assert_same(_read(batches.dataset(whole_batches=True), 3), alone)
    own = _read(batches.dataset(), 3)
    assert [list(y) for _, y in own] == [list(y[2:]) for _, y in alone]
