"""In-memory splits and the tf.data input pipeline."""

import dataclasses

import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.data import SyntheticScenes
from siam_keras.data.synthetic_scenes import scene_settings
from siam_keras.runtime.output_kinds import REGRESSION, kinds_of
from training import multi_host
from training.augmentation import random_affine

#: Shuffle buffer of each part mixed by `mixed_batches`.
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


def make_dataset(images, targets, weights, batch_size, training, train_config=None,
                 repeat=False):
    """A batched, prefetched `tf.data.Dataset` of (image, targets, sample weights).

    Images stay uint8 in memory and are cast (and, when training, augmented) one
    batch at a time on tf.data's threads, overlapping with the training step. With
    `repeat`, the shuffled passes follow each other endlessly.
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, targets, weights))
    if training:
        dataset = dataset.shuffle(len(images), seed=train_config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    if repeat:
        dataset = dataset.repeat()
    if training:
        return finish_batches(*_local_rows(dataset, batch_size), True, train_config)
    return finish_batches(dataset, None, training, train_config)


def _local_rows(dataset, batch_size):
    """(dataset, rows): this process's rows of each global training batch, and (start,
    stop, batch_size) for the augmentation (None in a one-process job)."""
    if multi_host.process_count() == 1:
        return dataset, None
    start, stop = multi_host.local_slice(batch_size)
    local = dataset.map(lambda *batch: tf.nest.map_structure(lambda t: t[start:stop], batch))
    return local, (start, stop, batch_size)


def finish_batches(dataset, rows, training, train_config=None):
    """Batches of (uint8 images, targets, weights) -> float32 images, augmented when
    training (one warp per image, `augmentation.random_affine`; `rows`: see there),
    prefetched."""
    aug = train_config.augmentation if train_config is not None else None
    augment = training and aug is not None and (
        aug.flip or aug.crop_min_scale < 1 or aug.rotation_degrees > 0
    )
    if augment:
        dataset = dataset.enumerate()

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
    else:
        dataset = dataset.map(
            lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def mixed_batches(parts, batch_size, train_config, shuffle_buffer=SHUFFLE_BUFFER,
                  num_replicas=None):
    """Endless training batches: `batch_size` examples of each part, concatenated.

    A distribution over R devices (`num_replicas`, default: the current TensorFlow
    strategy's replicas, or the current Keras distribution's devices) splits each batch
    into R consecutive slices, one per device: the parts are then interleaved slice by
    slice, so that every device gets `batch_size / R` examples of each part, and its
    masked losses (means over the samples that have each label) average to the losses
    of the whole batch. The global batch is the same for every split of those devices
    over processes (`training.multi_host`), each process keeping its devices' slices.
    """
    batched = tuple(
        part.shuffle(shuffle_buffer, seed=train_config.seed + i, reshuffle_each_iteration=True)
        .repeat().batch(batch_size, drop_remainder=True)
        for i, part in enumerate(parts))
    if len(batched) == 1:
        mixed = batched[0]
    else:
        from training.distribution import devices_in_use

        replicas = num_replicas or devices_in_use()

        def interleaved(*tensors):
            slices = [tf.split(t, replicas) for t in tensors]
            return tf.concat([part[r] for r in range(replicas) for part in slices], axis=0)

        mixed = tf.data.Dataset.zip(batched).map(
            lambda *batches: tf.nest.map_structure(interleaved, *batches))
    return finish_batches(*_local_rows(mixed, batch_size * len(batched)), True, train_config)


def evaluation_batches(parts, batch_size):
    """Each part batched on its own (a batch holds one dataset), one after the other."""
    batched = [part.batch(batch_size) for part in parts]
    combined = batched[0]
    for more in batched[1:]:
        combined = combined.concatenate(more)
    return finish_batches(combined, None, False)
