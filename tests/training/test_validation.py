import numpy as np
import pytest

from siam_keras.models import build_siam_model
from tests.conftest import _randomise_head
from training.builders import validation
from training.config import load_config
from training.losses import AttributeLoss, SquaredError
from training.weighting import PaperLossWeighting

OUTPUTS = ["scenicness", "scenicness_variance"]


@pytest.fixture(scope="module")
def two_batches():
    """A SUN batch (attribute labels only) and a ScenicOrNot batch (outputs only), as
    the two-dataset validation sees them, and a model."""
    rng = np.random.default_rng(0)
    model = build_siam_model(["a", "b", "c"], OUTPUTS, image_size=32, template_size=4,
                             border_size=0, initial_biases={"scenicness": 5.0})
    _randomise_head(model, 3)
    images = (rng.random((2, 4, 32, 32, 3)) * 255).astype("float32")
    sun = ({"attribute_scores": rng.choice([0, 1 / 3, 2 / 3, 1], (4, 3)).astype("float32"),
            "scenicness": np.zeros(4, "float32"), "scenicness_variance": np.zeros(4, "float32")},
           {"attribute_scores": np.ones(4, "float32"), "scenicness": np.zeros(4, "float32"),
            "scenicness_variance": np.zeros(4, "float32")})
    son = ({"attribute_scores": np.zeros((4, 3), "float32"),
            "scenicness": rng.uniform(1, 10, 4).astype("float32"),
            "scenicness_variance": rng.uniform(0, 4, 4).astype("float32")},
           {"attribute_scores": np.zeros(4, "float32"), "scenicness": np.ones(4, "float32"),
            "scenicness_variance": np.ones(4, "float32")})
    return model, [(images[0], *sun), (images[1], *son)]


def test_each_target_is_validated_on_the_samples_that_have_its_label(two_batches):
    model, batches = two_batches
    config = load_config(None, ["train.attribute_loss_weight=2.0",
                                "train.output_loss_weights={scenicness=1.0, scenicness_variance=0.5}"])
    logs = validation(config, batches, OUTPUTS).evaluate(model)
    sun_images, sun_targets, _ = batches[0]
    son_images, son_targets, _ = batches[1]
    sun_pred, son_pred = model.predict_on_batch(sun_images), model.predict_on_batch(son_images)
    p = np.clip(np.tanh(sun_pred["attribute_scores"]), 1e-6, 1 - 1e-6)
    y = sun_targets["attribute_scores"]
    bce = float((-(y * np.log(p) + (1 - y) * np.log(1 - p))).mean())
    squared = {name: float(((son_pred[name] - son_targets[name]) ** 2).mean()) for name in OUTPUTS}
    assert logs["val_attribute_scores_loss"] == pytest.approx(bce, rel=1e-5)
    for name in OUTPUTS:
        assert logs[f"val_{name}_loss"] == pytest.approx(squared[name], rel=1e-5)
    assert logs["val_loss"] == pytest.approx(
        2.0 * bce + squared["scenicness"] + 0.5 * squared["scenicness_variance"], rel=1e-5)
    from scipy import stats

    assert logs["val_scenicness_kendall_tau"] == pytest.approx(
        stats.kendalltau(son_targets["scenicness"], son_pred["scenicness"]).statistic)


def test_scenic_or_not_errors_move_the_selection_also_under_the_paper_weighting(two_batches):
    """Keras' own validation of the paper-weighted model gives 0 on a ScenicOrNot batch
    whatever its error (every term is rescaled by L_sun, which is 0 there); the
    selection value follows the ScenicOrNot error."""
    model, batches = two_batches
    paper = PaperLossWeighting(model.input, model.output, name=model.name)
    paper.compile(loss=None)
    son_images, son_targets, son_weights = batches[1]
    keras_value = paper.evaluate(son_images, son_targets, sample_weight=son_weights, verbose=0,
                                 return_dict=True)["loss"]
    assert keras_value == 0.0  # what the selection was made on before
    config = load_config(None, ["train.loss_weighting=paper"])
    worse = [batches[0], (son_images, {**son_targets, "scenicness": son_targets["scenicness"] + 3},
                          son_weights)]
    before = validation(config, batches, OUTPUTS).evaluate(model)["val_loss"]
    after = validation(config, worse, OUTPUTS).evaluate(model)["val_loss"]
    assert after != pytest.approx(before) and np.isfinite(after)


def test_a_target_with_no_label_is_left_out_of_the_selection(two_batches):
    model, batches = two_batches
    logs = validation(load_config(None), batches[1:], OUTPUTS).evaluate(model)
    assert np.isnan(logs["val_attribute_scores_loss"])
    assert logs["val_loss"] == pytest.approx(logs["val_scenicness_loss"]
                                             + logs["val_scenicness_variance_loss"])


def test_losses_give_one_value_per_sample():
    assert AttributeLoss().call(np.ones((3, 2), "float32"), np.ones((3, 2), "float32")).shape == (3,)
    assert SquaredError().call(np.ones(3, "float32"), np.zeros(3, "float32")).shape == (3,)
