"""Training callbacks beyond Keras' own."""

import time

import keras
import numpy as np
import tensorflow as tf

from siam_keras import vocabulary
from training.replicas import predict_batch


class AttributeMapImages(keras.callbacks.Callback):
    """Writes a few validation images' attribute maps to TensorBoard every epoch.

    One image summary per attribute (`attribute_maps/<name>`), each map scaled to
    [0, 1] by that attribute's peak over the shown images.
    """

    def __init__(self, log_dir, images, attribute_names):
        super().__init__()
        self.log_dir = str(log_dir)
        self.images = np.asarray(images, dtype="float32")
        self.attribute_names = list(attribute_names)
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        maps = np.asarray(predict_batch(self.model, self.images)[vocabulary.ATTRIBUTE_MAPS])
        peak = np.maximum(maps.max(axis=(0, 1, 2), keepdims=True), 1e-6)
        scaled = maps / peak
        with self._writer.as_default(step=epoch):
            tf.summary.image("images", self.images / 255.0, max_outputs=len(self.images))
            for k, name in enumerate(self.attribute_names):
                tf.summary.image(
                    f"attribute_maps/{name}", scaled[..., k : k + 1], max_outputs=len(self.images)
                )
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to the logs (and so to history.csv)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start
