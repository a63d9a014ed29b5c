"""`GradCAM`: Grad-CAM (Selvaraju et al. 2017) at a model's backbone features."""

import keras
import numpy as np
from keras import ops

from siam_keras import vocabulary
from siam_keras.explanations.base import ModelExplainer
from siam_keras.explanations.gradients import compiled, value_and_gradients, values_and_gradients


class GradCAM(ModelExplainer):
    """Grad-CAM of named scalar targets of a SIAM or baseline model.

    For a target y (an output, or one of SIAM's attribute scores) and backbone
    features A (B, h, w, C): weights a_c = mean_hw dy/dA_c, map = relu(sum_c a_c A_c).
    Each target gets its own forward and backward pass, as Grad-CAM is usually run
    (tf-keras-vis, pytorch-grad-cam); `shared_forward=True` computes every target's
    gradient from one forward pass instead (same maps, fewer passes). Runs on Keras'
    TensorFlow and JAX backends (`siam_keras.explanations.gradients`).

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
        # The model split at its features: Grad-CAM differentiates the head only.
        self._backbone = keras.Model(model.input, self.features)
        self._head = keras.Model(self.features, model.output)
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
            self._functions[resolved] = compiled(
                lambda images: self._cams(images, resolved), self.model.weights)
        return self._functions[resolved]

    def _scores(self, features, resolved):
        """Each target's score summed over the batch: images are independent at
        inference, so its gradient is each image's own gradient."""
        outputs = self._head(features, training=False)
        scores = []
        for key, index in resolved:
            value = ops.cast(outputs[key], "float32")
            scores.append(ops.sum(value if index < 0 else value[:, index]))
        return scores

    def _cams(self, images, resolved):
        def cam(features, grads):
            features, grads = ops.cast(features, "float32"), ops.cast(grads, "float32")
            weights = ops.mean(grads, axis=(1, 2))
            return ops.relu(ops.einsum("bhwc,bc->bhw", features, weights))

        if self.shared_forward:
            features = self._backbone(images, training=False)
            _, gradients = values_and_gradients(
                lambda f: self._scores(f, resolved), [features])
            maps = [cam(features, grads[0]) for grads in gradients]
        else:
            maps = []
            for target in resolved:
                features = self._backbone(images, training=False)
                _, (grads,) = value_and_gradients(
                    lambda f, t=target: self._scores(f, (t,))[0], [features])
                maps.append(cam(features, grads))
        return ops.stack(maps, axis=-1)

    def __call__(self, images, targets):
        resolved = self._resolve(targets)
        names = [targets] if isinstance(targets, str) else list(targets)
        function = self._function(resolved)
        stacked = np.concatenate([ops.convert_to_numpy(function(ops.convert_to_tensor(batch)))
                                  for batch in self.batches(self.pixels(images))])
        return {name: stacked[..., j] for j, name in enumerate(names)}
