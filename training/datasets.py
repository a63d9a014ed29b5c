"""In-memory splits and the tf.data input pipeline."""

import dataclasses
import functools

import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.data import SyntheticScenes
from siam_keras.data.synthetic_scenes import scene_settings
from siam_keras.runtime.output_kinds import REGRESSION, kinds_of
from training import multi_host
from training.augmentation import random_affine

#: The shuffle buffer of a part streamed from files (`TrainingBatches`).
SHUFFLE_BUFFER = 256


def synthetic_scenes(config):
    """The `SyntheticScenes` generator a `DataConfig` describes."""
    return SyntheticScenes(image_size=config.image_size,
                           **scene_settings(dataclasses.asdict(config.synthetic_scenes)))


def targets_and_weights(split, outputs, with_attributes=True):
    """Targets and per-sample weights for `model.fit`, of each output (`outputs`: {output:
    OutputKind}, or names of regression outputs) and the attributes: a missing label
    becomes 0 with sample weight 0 (`OutputKind.targets`), so it adds nothing to the loss
    or its gradient."""
    targets, weights = {}, {}
    for name, kind in kinds_of(outputs).items():
        targets[name], weights[name] = kind.targets(split[name])
    if with_attributes:
        key = vocabulary.ATTRIBUTE_SCORES
        targets[key], weights[key] = REGRESSION.targets(split["attributes"])
    return targets, weights


def make_dataset(images, targets, weights, batch_size, training, train_config=None):
    """Batches of (image, targets, sample weights) of arrays held in memory.

    Training: the endless, augmented `TrainingBatches` of the rows shuffled whole each
    pass. Otherwise a batched, prefetched `tf.data.Dataset` in the rows' order. Images
    stay uint8 in memory and are cast (and, when training, augmented) one batch at a
    time on tf.data's threads, overlapping with the training step.
    """
    if training:
        if len(images) < batch_size:
            raise ValueError(f"{len(images)} training images are fewer than a batch "
                             f"(train.batch_size={batch_size})")
        return mixed_batches([(images, targets, weights)], batch_size, train_config)
    dataset = tf.data.Dataset.from_tensor_slices((images, targets, weights))
    return finish_batches(dataset.batch(batch_size), None, False)


class TrainingBatches:
    """Endless training batches, in an order set by `train.seed` alone.

    Each dataset mixed is read in passes, batched across them: pass p of dataset d is
    its rows in an order drawn from (`train.seed`, d, p): permuted whole when held in
    memory (by stateless ops), through a shuffle buffer of `shuffle_buffer` rows seeded
    for the pass when streamed from files; step s's warps are drawn from (`train.seed`,
    s). So every new iterator reads the
    batches of the one before it, and `dataset(first_epoch, steps_per_epoch)` starts at
    that epoch's first step: a run resumed after a kill reads what the killed run would
    have read, a distributed run (whose Keras reads a batch before training) the
    batches of a one-device run, and the batch-norm recomputation (`training.batch_norm`)
    takes nothing from the training's order. (A `shuffle` with one seed and
    `reshuffle_each_iteration` starts another order with every iterator.)

    Args:
        parts: the datasets mixed: each a (uint8 images, targets, weights) tuple of
            arrays held in memory, or a `tf.data.Dataset` of such rows.
        batch_size: rows of each part in a step.
        train_config: the `[train]` table (`seed`, `augmentation`).
        shuffle_buffer: the shuffle buffer of a streamed part.
        replicas: the devices each global batch is split over (see `mixed_batches`).
    """

    def __init__(self, parts, batch_size, train_config, shuffle_buffer, replicas):
        self.parts, self.batch_size, self.train_config = tuple(parts), batch_size, train_config
        self.shuffle_buffer, self.replicas = shuffle_buffer, replicas
        self.global_batch_size = batch_size * len(self.parts)
        self._sizes = [_rows_in(part) for part in self.parts]
        for index, size in enumerate(self._sizes):
            if size < 1:
                raise ValueError(
                    f"Each training dataset needs rows, and a streamed one a known number of "
                    f"them (tf.data's cardinality). Received: dataset {index + 1} of "
                    f"{len(self._sizes)} with "
                    + (f"{size} rows" if size >= 0 else "an unknown or endless length"))
        # Tensors once, on the host, whatever the datasets made of them (training, the
        # batch-norm recomputation): the photos are not copied again for each.
        with tf.device("/CPU:0"):
            self._tensors = [None if isinstance(part, tf.data.Dataset)
                             else tf.nest.map_structure(tf.convert_to_tensor, part)
                             for part in self.parts]

    def dataset(self, first_epoch=0, steps_per_epoch=0, whole_batches=False):
        """The batches from step `first_epoch * steps_per_epoch` on: this process's rows
        of each global batch (`training.multi_host`; `whole_batches`: every row, as one
        process alone reads them), float32, augmented, prefetched. Finding a later step
        costs nothing for a part held in memory; a streamed one is read from the start of
        the pass the step is in."""
        if first_epoch and steps_per_epoch < 1:
            raise ValueError(f"A later epoch needs the steps of an epoch. Received: "
                             f"first_epoch={first_epoch}, steps_per_epoch={steps_per_epoch}")
        step = first_epoch * steps_per_epoch
        batched = [self._part_batches(index, step * self.batch_size)
                   for index in range(len(self.parts))]
        mixed = batched[0] if len(batched) == 1 else tf.data.Dataset.zip(tuple(batched)).map(
            self._interleaved)
        steps, rows = mixed.enumerate(step), None
        if not whole_batches:
            steps, rows = _local_rows(steps, self.global_batch_size)
        return finish_batches(steps, rows, True, self.train_config)

    def _part_batches(self, index, rows_read):
        """The batches of part `index` once `rows_read` of its rows were read."""
        first_pass, skipped = divmod(rows_read, self._sizes[index])
        passes = tf.data.Dataset.counter(first_pass)
        if isinstance(self.parts[index], tf.data.Dataset):
            rows = passes.flat_map(functools.partial(self._streamed_pass, index))
            return rows.skip(skipped).batch(self.batch_size, drop_remainder=True)
        arrays = self._tensors[index]
        rows = passes.flat_map(functools.partial(self._in_memory_pass, index))
        return rows.skip(skipped).batch(self.batch_size, drop_remainder=True).map(
            lambda chosen: tf.nest.map_structure(lambda array: tf.gather(array, chosen), arrays),
            num_parallel_calls=tf.data.AUTOTUNE)

    def _in_memory_pass(self, index, number):
        """Pass `number` over an in-memory part: its row numbers, permuted."""
        order = tf.random.experimental.stateless_shuffle(
            tf.range(self._sizes[index], dtype=tf.int64),
            _key(self.train_config.seed, index, number))
        return tf.data.Dataset.from_tensor_slices(order)

    def _streamed_pass(self, index, number):
        """Pass `number` over a streamed part: its rows through a shuffle buffer of
        `shuffle_buffer` rows, seeded for the pass."""
        # `shuffle` combines its seed with the graph's, which this traced function takes
        # from the global one; where that is 0 (the configs' default) a tensor seed fails,
        # so the function's own graph gets one (nothing outside it changes).
        tf.random.set_seed(1)
        seed = tf.random.stateless_uniform(
            [], _key(self.train_config.seed, index, number), 1, 2**31 - 1, dtype=tf.int64)
        return self.parts[index].shuffle(self.shuffle_buffer, seed=seed,
                                         reshuffle_each_iteration=False)

    def _interleaved(self, *batches):
        """The parts' batches joined device slice by device slice (`mixed_batches`)."""
        def join(*tensors):
            slices = [tf.split(t, self.replicas) for t in tensors]
            return tf.concat([part[r] for r in range(self.replicas) for part in slices], axis=0)

        return tf.nest.map_structure(join, *batches)


def _rows_in(part):
    """Rows of a part (negative: a stream of unknown or endless length)."""
    if isinstance(part, tf.data.Dataset):
        return int(part.cardinality())
    return len(tf.nest.flatten(part)[0])


def _key(seed, part, number):
    """The seed of a stateless random draw for pass `number` of `part`: distinct for
    every (part, pass) below 2**20 passes of a part (the demo's numbers were measured
    with these keys)."""
    return tf.stack([tf.constant(seed, tf.int64),
                     part * 2**40 + tf.cast(number, tf.int64) * 2**20])


def _local_rows(dataset, batch_size):
    """(dataset, rows) of enumerated global batches: this process's rows of each, and
    (start, stop, batch_size) for the augmentation (None in a one-process job)."""
    if multi_host.process_count() == 1:
        return dataset, None
    start, stop = multi_host.local_slice(batch_size)
    local = dataset.map(
        lambda step, batch: (step, tf.nest.map_structure(lambda t: t[start:stop], batch)))
    return local, (start, stop, batch_size)


def finish_batches(dataset, rows, training, train_config=None):
    """Batches of (uint8 images, targets, weights) -> float32 images, prefetched; when
    training, `dataset` holds (step, batch) pairs and each image gets its warp of the
    step (`augmentation.random_affine`; `rows`: see there)."""
    aug = train_config.augmentation if train_config is not None else None
    augment = training and aug is not None and (
        aug.flip or aug.crop_min_scale < 1 or aug.rotation_degrees > 0
    )
    if augment:
        def transform(step, batch):
            x, y, w = batch
            seed = tf.stack([tf.cast(step, tf.int32), tf.constant(train_config.seed, tf.int32)])
            x = random_affine(
                tf.cast(x, tf.float32), seed,
                flip=aug.flip,
                crop_min_scale=aug.crop_min_scale,
                rotation_degrees=aug.rotation_degrees,
                rows=rows,
            )
            return x, y, w

        dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
    elif training:  # the step numbers dropped in the same map that casts
        dataset = dataset.map(lambda step, batch: (tf.cast(batch[0], tf.float32), *batch[1:]),
                              num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(
            lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def mixed_batches(parts, batch_size, train_config, shuffle_buffer=SHUFFLE_BUFFER,
                  num_replicas=None):
    """`TrainingBatches`: `batch_size` examples of each part a step, concatenated
    (`parts`: arrays held in memory, or `tf.data.Dataset`s streamed).

    A distribution over R devices (`num_replicas`, default: the current TensorFlow
    strategy's replicas, or the current Keras distribution's devices) splits each batch
    into R consecutive slices, one per device: the parts are then interleaved slice by
    slice, so that every device gets `batch_size / R` examples of each part, and its
    masked losses (means over the samples that have each label) average to the losses
    of the whole batch. The global batch is the same for every split of those devices
    over processes (`training.multi_host`), each process keeping its devices' slices.
    """
    replicas = 1
    if len(parts) > 1:
        from training.distribution import devices_in_use

        replicas = num_replicas or devices_in_use()
    return TrainingBatches(parts, batch_size, train_config, shuffle_buffer, replicas)


def evaluation_batches(parts, batch_size):
    """Each part batched on its own (a batch holds one dataset), one after the other."""
    batched = [part.batch(batch_size) for part in parts]
    combined = batched[0]
    for more in batched[1:]:
        combined = combined.concatenate(more)
    return finish_batches(combined, None, False)
