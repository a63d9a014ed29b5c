"""`GradCAM`: Grad-CAM (Selvaraju et al. 2017) at a model's backbone features."""

import keras
import numpy as np
import tensorflow as tf

from siam_keras import vocabulary
from siam_keras.explanations.base import ModelExplainer


class GradCAM(ModelExplainer):
    """Grad-CAM of named scalar targets of a SIAM or baseline model.

    For a target y (an output, or one of SIAM's attribute scores) and backbone
    features A (B, h, w, C): weights a_c = mean_hw dy/dA_c, map = relu(sum_c a_c A_c).
    Each target gets its own forward and backward pass, as Grad-CAM is usually run
    (tf-keras-vis, pytorch-grad-cam); `shared_forward=True` computes every target's
    gradient from one forward pass instead (same maps, fewer passes).

    Args:
        model: a SIAM or baseline model (`siam_keras.models`), taking raw pixels.
        batch_size: images per pass.
        shared_forward: one forward pass for all targets (see above).

    Call arguments:
        images: (B, height, width, 3) raw RGB pixels at the model's input size.
        targets: names: the model's outputs (`"scenicness"`) and, for SIAM models,
            attributes (`"trees"`: its `attribute_scores` column).

    Returns:
        dict target -> (B, h, w) non-negative float32 maps on the feature grid.

    Reference:
        Selvaraju et al. Grad-CAM: Visual Explanations from Deep Networks via
        Gradient-based Localization. ICCV 2017.
    """

    def __init__(self, model, batch_size=32, shared_forward=False):
        super().__init__(model, batch_size)
        self.shared_forward = shared_forward
        self._grad_model = keras.Model(model.input, [self.features, model.output])
        self._functions = {}

    def _resolve(self, targets):
        if isinstance(targets, str):
            targets = [targets]
        resolved = []
        for name in targets:
            if name in self.output_names:
                resolved.append((name, -1))
            elif name in self.attribute_names:
                resolved.append((vocabulary.ATTRIBUTE_SCORES, self.attribute_names.index(name)))
            else:
                raise ValueError(
                    f"Unknown Grad-CAM target {name!r}. Choose outputs {list(self.output_names)}"
                    + (f" or attributes {list(self.attribute_names)}" if self.attribute_names else "")
                )
        return tuple(resolved)

    def _function(self, resolved):
        if resolved not in self._functions:
            self._functions[resolved] = tf.function(
                lambda images: self._cams(images, resolved), reduce_retracing=True
            )
        return self._functions[resolved]

    def _cams(self, images, resolved):
        def select(outputs, key, index):
            value = tf.cast(outputs[key], tf.float32)
            return value if index < 0 else value[:, index]

        def cam(features, grads):
            features, grads = tf.cast(features, tf.float32), tf.cast(grads, tf.float32)
            weights = tf.reduce_mean(grads, axis=(1, 2))
            return tf.nn.relu(tf.einsum("bhwc,bc->bhw", features, weights))

        maps = []
        if self.shared_forward:
            with tf.GradientTape(persistent=True) as tape:
                features, outputs = self._grad_model(images, training=False)
                scores = [select(outputs, key, index) for key, index in resolved]
            maps = [cam(features, tape.gradient(score, features)) for score in scores]
            del tape
        else:
            for key, index in resolved:
                with tf.GradientTape() as tape:
                    features, outputs = self._grad_model(images, training=False)
                    score = select(outputs, key, index)
                # Images are independent at inference: the gradient of the batch sum
                # is each image's own gradient.
                maps.append(cam(features, tape.gradient(score, features)))
        return tf.stack(maps, axis=-1)

    def __call__(self, images, targets):
        resolved = self._resolve(targets)
        names = [targets] if isinstance(targets, str) else list(targets)
        function = self._function(resolved)
        stacked = np.concatenate([function(tf.constant(batch)).numpy()
                                  for batch in self.batches(self.pixels(images))])
        return {name: stacked[..., j] for j, name in enumerate(names)}
