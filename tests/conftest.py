import os

# Quiet TensorFlow's C++ logging; set before any test imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("KERAS_BACKEND") == "jax":
    # The tests compile many small XLA programs and run each a few times: without LLVM's
    # optimisations they compile faster and the JAX run takes half the time.
    os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
    # As where TensorFlow is not installed: what imports it fails here. (It also spares
    # 4 s: `keras.utils.set_random_seed` imports TensorFlow, where it can, to seed it.)
    import sys

    sys.modules.setdefault("tensorflow", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_restore_policy():
    """Seeds every test and restores Keras' dtype policy after it (a test may change it)."""
    import keras

    keras.utils.set_random_seed(0)
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


#: The tiny models' setup: 32 px images, small CNN, synthetic_scenes' 8 attributes.
TINY_ATTRIBUTES = ("sky", "clouds", "water", "trees", "grass", "road", "buildings", "rock")
TINY_OUTPUTS = ("scenicness", "scenicness_variance")


def _randomise_head(model, seed):
    """Random but valid head weights (templates >= 0), so contributions are not trivial."""
    from siam_keras.models import get_siam_layer

    rng = np.random.default_rng(seed)
    layer = get_siam_layer(model)
    for weight in layer.weights:
        value = rng.normal(0.0, 0.3, weight.shape)
        if weight.path.endswith("templates"):
            value = np.abs(value)
        if weight.path.endswith("attribute_bias"):
            value = np.abs(value)  # most cells active: maps are rarely all zero
        weight.assign(value.astype("float32"))


def _keep_a_training_distribution(model):
    """A `TrainingDistribution` fitted on generated scenes, as siam-train keeps one, so that
    every export and explanation of the tiny model carries the out-of-distribution flag."""
    from siam_keras.data import SyntheticScenes
    from siam_keras.runtime.training_distribution import TrainingDistribution

    scenes = SyntheticScenes(image_size=32, template_size=4)
    maps = [model.predict(scenes.generate(split, 300)["image"].astype("float32"),
                          verbose=0)["attribute_maps"] for split in ("train", "validation")]
    model.siam_head.training_distribution = TrainingDistribution.fit(*maps)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """(siam_path, baseline_path): .keras files of an untrained SIAM model with a
    randomised head, and an untrained baseline, both taking 32 x 32 pixels."""
    import keras

    from siam_keras.models import build_baseline_model, build_siam_model

    keras.utils.set_random_seed(1)
    folder = tmp_path_factory.mktemp("tiny_models")
    siam = build_siam_model(list(TINY_ATTRIBUTES), TINY_OUTPUTS, image_size=32, template_size=4,
                            border_size=0, initial_biases={"scenicness": 5.0})
    _randomise_head(siam, 1)
    _keep_a_training_distribution(siam)
    siam.save(folder / "siam.keras")
    build_baseline_model(TINY_OUTPUTS, image_size=32).save(folder / "baseline.keras")
    return folder / "siam.keras", folder / "baseline.keras"


@pytest.fixture(scope="session")
def tiny_siam(tiny_models):
    from siam_keras.saving import load_model

    return load_model(tiny_models[0])


@pytest.fixture(scope="session")
def tiny_scenes():
    """12 synthetic_scenes test images at 32 px (uint8), with labels and masks."""
    from siam_keras.data import SyntheticScenes

    return SyntheticScenes(image_size=32, template_size=4).generate("test", 12)


@pytest.fixture(scope="session")
def tiny_export(tiny_models, tmp_path_factory):
    """`python -m export` of the tiny SIAM model (all four TFLite variants, the test vectors
    and the web page): the folder."""
    from export.cli import main

    out = tmp_path_factory.mktemp("export") / "tiny"
    code = main(["--model", str(tiny_models[0]), "--out", str(out), "--calibration-images", "16",
                 "--holdout-images", "12", "--latency-runs", "5", "--web"])
    assert code == 0
    return out


#: Modules that take a minute or more on 2 cores (`make test` prints the slowest tests),
#: longest first. `--dist loadfile` hands modules to the workers in collection order, so
#: these start first and the two workers finish together, not one of them alone at the end.
LONGEST_FIRST = (
    "tests/docs/test_guides.py", "tests/training/test_multi_host.py",
    "tests/docs/test_walkthroughs.py", "tests/training/test_distribution.py",
    "tests/training/test_run.py", "tests/training/test_hub_end_to_end.py",
    "tests/training/test_mixed_precision.py", "tests/test_quiet_commands.py",
    "tests/training/sources/test_sun_scenic_or_not.py", "tests/siam_keras/cli/test_hardening.py",
    "tests/export/test_export_cli.py",
)


def pytest_collection_modifyitems(config, items):
    """Runs `LONGEST_FIRST`'s modules first, in its order; the rest keep theirs."""
    rank = {module: index for index, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
