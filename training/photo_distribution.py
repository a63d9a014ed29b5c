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
#: Fewest photos per summary number (3 per attribute) for a usable covariance, and the
#: fewest validation photos for a threshold.
PHOTOS_PER_FEATURE = 3
MIN_HELD_OUT_PHOTOS = 20
#: A share of test photos flagged above this says the threshold does not hold.
MAX_TEST_FLAGGED = 0.05


def keep_training_distribution(model, source, path, test_maps=None, log=print):
    """Fits `model`'s `TrainingDistribution` on its training photos' attribute maps (the
    threshold on the validation photos'), keeps it in its SIAM head and saves the model
    to `path` again; returns metrics.json's `training_distribution` entry.

    Too few photos, or maps that are not finite (an unhealthy model), keep none: the
    entry then says why, and no photo will be flagged.
    """
    one_pass = source.steps_per_pass() * source.config.train.batch_size
    # Whole batches: every process of a job fits the distribution of a one-process run.
    training = _maps(model, source.training_data().dataset(whole_batches=True),
                     min(MAX_TRAINING_PHOTOS, one_pass))
    held_out = _maps(model, source.validation_data(), MAX_HELD_OUT_PHOTOS)
    features = 3 * len(source.attribute_names)
    try:
        if len(training) < PHOTOS_PER_FEATURE * features or len(held_out) < MIN_HELD_OUT_PHOTOS:
            raise ValueError(
                f"{len(training)} training and {len(held_out)} validation photos are too few for "
                f"{features} numbers per photo (at least {PHOTOS_PER_FEATURE * features} and "
                f"{MIN_HELD_OUT_PHOTOS})")
        distribution = TrainingDistribution.fit(training, held_out)
    except ValueError as error:
        log(f"warning: no training distribution kept, so no photo will be flagged as unlike the "
            f"training photos: {error}")
        return {"kept": False, "reason": str(error)}
    model.siam_head.training_distribution = distribution
    save_model(model, path)
    report = {"kept": True, "threshold": distribution.threshold,
              "quantile": distribution.quantile, "num_photos": distribution.num_photos,
              "num_held_out_photos": len(held_out)}
    line = (f"      a photo farther than {distribution.threshold:.2f} from the "
            f"{distribution.num_photos} training photos' attribute maps is flagged as out of "
            "distribution")
    if test_maps is not None and len(test_maps):
        report["test_flagged"] = float(np.mean(
            distribution.out_of_distribution(test_maps).flagged))
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
        images = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch)
        found = np.asarray(model.predict_on_batch(images)[vocabulary.ATTRIBUTE_MAPS])  # any backend
        maps.append(found[: limit - count])
        count += len(maps[-1])
        if count >= limit:
            break
    return np.concatenate(maps) if maps else np.zeros((0, 1, 1, 1), "float32")
