"""`GradCAMPlusPlus`: tf-keras-vis' Grad-CAM++ behind `GradCAM`'s interface."""

import keras
import numpy as np

from siam_keras.explanations.base import FEATURE_LAYER, with_feature_layer
from siam_keras.explanations.gradcam import GradCAM

#: Where the implementation comes from (recorded in evaluation files).
SOURCE = "tf-keras-vis GradcamPlusPlus"


class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++ (Chattopadhay et al. 2018) as tf-keras-vis computes it.

    Same targets, call and return values as `GradCAM`: maps at the backbone
    features, neither resized nor normalised. tf-keras-vis runs eagerly, one
    forward and backward pass per target and batch.

    Raises:
        ValueError: under a Keras backend other than TensorFlow (tf-keras-vis runs
            TensorFlow's `GradientTape`); `GradCAM` runs on JAX too.
        ImportError: if tf-keras-vis is not installed (`pip install
            "siam-keras[posthoc]"`).

    Reference:
        Chattopadhay et al. Grad-CAM++: Generalized Gradient-Based Visual
        Explanations for Deep Convolutional Networks. WACV 2018.
    """

    def __init__(self, model, batch_size=32):
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "Grad-CAM++ runs tf-keras-vis, which needs Keras' TensorFlow backend. "
                f"Received: backend={keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow "
                "for it, or use GradCAM, which runs on both backends.")
        try:
            from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        except ImportError as error:
            raise ImportError(
                "Grad-CAM++ needs tf-keras-vis: pip install 'siam-keras[posthoc]'"
            ) from error
        super().__init__(model, batch_size=batch_size)
        self._library_class = GradcamPlusPlus
        self._visualizers = {}

    def _visualizer(self, key):
        if key not in self._visualizers:
            flat = with_feature_layer(self.model, output_key=key)
            self._visualizers[key] = self._library_class(flat, clone=False)
        return self._visualizers[key]

    def __call__(self, images, targets):
        names = [targets] if isinstance(targets, str) else list(targets)
        images = self.pixels(images)
        maps = {}
        for name, (key, index) in zip(names, self._resolve(names)):
            score = (lambda out: out) if index < 0 else (lambda out, k=index: out[:, k])
            visualizer = self._visualizer(key)
            maps[name] = np.concatenate([
                np.asarray(visualizer(
                    score, batch, penultimate_layer=FEATURE_LAYER,
                    seek_penultimate_conv_layer=False, expand_cam=False, normalize_cam=False,
                ), dtype="float32")
                for batch in self.batches(images)
            ])
        return maps
