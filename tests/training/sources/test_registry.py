import types

import numpy as np
import pytest

from training.config_schema import DATASETS
from training.sources import SOURCES, DataSource, data_source


def test_every_configurable_dataset_has_a_source_and_each_source_the_interface():
    import importlib

    assert tuple(SOURCES) == DATASETS
    for module, name in SOURCES.values():
        source = getattr(importlib.import_module(module), name)
        assert issubclass(source, DataSource)
        for method in ("prepare", "steps_per_pass", "label_means", "training_data",
                       "validation_data", "evaluate", "plot_preview", "description"):
            assert getattr(source, method) is not getattr(DataSource, method), (name, method)


def test_an_unknown_dataset_is_refused_with_the_choices():
    config = types.SimpleNamespace(data=types.SimpleNamespace(dataset="imagenet"))
    with pytest.raises(ValueError, match="data.dataset must be one of: synthetic_scenes, "
                                         "sun_scenic_or_not, manifest. Received: 'imagenet'"):
        data_source(config)


@pytest.mark.parametrize("overrides, steps", [
    ([], 100),                                     # 64 images are 4 steps a pass: 100
    (["train.min_steps_per_epoch=3"], 4),           # a pass is longer than the minimum
    (["train.steps_per_epoch=7"], 7),               # set outright
])
def test_an_epoch_is_a_pass_or_at_least_min_steps_per_epoch(overrides, steps):
    """A few hundred photos are a few steps a pass: 12 such epochs are too few to train
    (and to settle batch-norm statistics); every source gets at least 100 steps an epoch,
    and the generated data repeat to fill them."""
    from training.config import load_config

    config = load_config(None, ["data.image_size=32", "data.synthetic_scenes.num_train=64",
                                "data.synthetic_scenes.num_validation=8",
                                "data.synthetic_scenes.num_test=8", "model.template_size=4",
                                "data.synthetic_scenes.truth_template_size=4",
                                "train.batch_size=16", *overrides])
    source = data_source(config, log=lambda *_: None)
    source.prepare()
    assert source.steps_per_pass() == 4 and source.steps_per_epoch() == steps
    # Passes of 4 steps follow each other: each holds every training row once.
    labels = [y["scenicness"].numpy() for _, y, _ in source.training_data().dataset().take(8)]
    expected = np.sort(np.asarray(source.splits["train"]["scenicness"], "float32"))
    for first in (0, 4):
        np.testing.assert_array_equal(np.sort(np.concatenate(labels[first:first + 4])), expected)
