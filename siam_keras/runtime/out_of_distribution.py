"""`OutOfDistribution`: each explained photo's distance from the model's training photos
(`siam_keras.runtime.training_distribution`), and whether it is unlike them."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class OutOfDistribution:
    """Each explained photo's distance from the training photos, and the verdict.

    Attributes:
        distance: (B,) Mahalanobis distance (`TrainingDistribution.distance`).
        threshold: beyond it a photo is flagged.
    """

    distance: np.ndarray
    threshold: float

    @property
    def flagged(self):
        """(B,) bool: unlike the training photos (a distance that is not finite too)."""
        return ~(np.asarray(self.distance) <= self.threshold)

    def to_json(self, index):
        return {"flagged": bool(self.flagged[index]),
                "distance": round(float(self.distance[index]), 4),
                "threshold": round(float(self.threshold), 4)}

    def describe(self, index):
        """"unlike the training photos (distance 13.3 > 7.6)", or "" when it is not."""
        if not self.flagged[index]:
            return ""
        return (f"unlike the training photos (distance {self.distance[index]:.1f} > "
                f"{self.threshold:.1f})")
