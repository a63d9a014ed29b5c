"""Keeping the training photos' distribution with the model, so that it can flag photos
unlike them (`siam_keras.runtime.training_distribution`)."""

import numpy as np

from siam_keras import vocabulary
from siam_keras.runtime.training_distribution import TrainingDistribution
from training.fit import save_model

#: Training photos the distribution is fitted on, and validation photos that set its
#: threshold (at most).
MAX_TRAINING_PHOTOS = 2000
MAX_HELD_OUT_PHOTOS = 1000
#: A share of test photos flagged above this says the threshold does not hold.
MAX_TEST_FLAGGED = 0.05


def keep_training_distribution(model, source, path, test_maps=None, log=print):
    """Fits `model`'s `TrainingDistribution` on its training photos' attribute maps (the
    threshold on the validation photos'), keeps it in its SIAM head and saves the model
    to `path` again; returns metrics.json's `out_of_distribution` entry."""
    training = _maps(model, source.training_data(with_outputs=False), MAX_TRAINING_PHOTOS)
    held_out = _maps(model, source.validation_data(with_outputs=False), MAX_HELD_OUT_PHOTOS)
    distribution = TrainingDistribution.fit(training, held_out)
    model.siam_head.training_distribution = distribution
    save_model(model, path)
    report = {"threshold": distribution.threshold, "quantile": distribution.quantile,
              "num_training_photos": len(training), "num_held_out_photos": len(held_out)}
    line = (f"      a photo farther than {distribution.threshold:.2f} from {len(training)} "
            "(augmented) training photos' attribute maps is flagged as out of distribution")
    if test_maps is not None and len(test_maps):
        report["test_flagged"] = float(np.mean(distribution.distance(test_maps)
                                               > distribution.threshold))
        line += f" ({report['test_flagged']:.1%} of the test photos are)"
    log(line)
    if report.get("test_flagged", 0) > MAX_TEST_FLAGGED:
        log(f"warning: {report['test_flagged']:.0%} of the test photos are flagged as unlike the "
            "training photos: the test split differs from the training split, or there are too "
            "few validation photos to set the threshold (more validation rows help)")
    return report


def _maps(model, batches, limit):
    """Up to `limit` photos' attribute maps from a dataset of (images, ...) batches."""
    maps, count = [], 0
    for batch in batches:
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        found = np.asarray(model.predict_on_batch(images)[vocabulary.ATTRIBUTE_MAPS])
        maps.append(found[: limit - count])
        count += len(maps[-1])
        if count >= limit:
            break
    return np.concatenate(maps)
