"""Batched augmentation: flip, random resized crop and rotation in one warp."""

import math

import tensorflow as tf


def random_affine(images, seed, flip=True, crop_min_scale=0.9, rotation_degrees=5.0,
                  rows=None):
    """Applies a random flip + square crop + rotation to each image of a batch.

    All three are composed into one affine map per image and applied with a single
    `ImageProjectiveTransformV3` (bilinear, reflected borders), so augmentation costs
    one pass over the pixels whatever is enabled.

    Args:
        images: (B, H, W, C) float32.
        seed: a (2,) int tensor for the stateless random ops.
        flip: mirror left-right with probability 1/2.
        crop_min_scale: each crop's side is uniform in [crop_min_scale, 1] of the
            image's, placed uniformly inside it, and resized back.
        rotation_degrees: rotation uniform in [-r, r].
        rows: None, or (start, stop, global batch size) when `images` are rows start:stop
            of a global batch (one process's share, `training.multi_host`): the warps are
            drawn for the whole global batch and these rows take theirs, so every row is
            warped as it would be in one process.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    start, stop = 0, batch
    if rows is not None:
        start, stop, batch = rows
    seeds = tf.random.experimental.stateless_split(seed, 4)
    scale = tf.random.stateless_uniform([batch], seeds[0], crop_min_scale, 1.0)
    angle = tf.random.stateless_uniform(
        [batch], seeds[1], -rotation_degrees * math.pi / 180, rotation_degrees * math.pi / 180
    )
    shift = tf.random.stateless_uniform([batch, 2], seeds[2], -1.0, 1.0)
    mirror = tf.ones([batch])
    if flip:
        mirror = tf.where(tf.random.stateless_uniform([batch], seeds[3]) < 0.5, -1.0, 1.0)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    tx = shift[:, 0] * (1 - scale) * width / 2
    ty = shift[:, 1] * (1 - scale) * height / 2
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel (x, y) reads input pixel (a0 x + a1 y + a2, b0 x + b1 y + b2).
    a0, a1 = scale * cos * mirror, -scale * sin
    b0, b1 = scale * sin * mirror, scale * cos
    a2 = cx + tx - a0 * cx - a1 * cy
    b2 = cy + ty - b0 * cx - b1 * cy
    zeros = tf.zeros([batch])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)[start:stop]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
