import numpy as np
import pytest

from siam_keras.data import SyntheticScenes
from siam_keras.data.scene_rendering import CONCEPTS, GROUND
from siam_keras.data.synthetic_scenes import TRUE_WEIGHTS


@pytest.fixture(scope="module")
def scenes():
    return SyntheticScenes(image_size=32, template_size=4, noise=0.1, seed=3)


@pytest.fixture(scope="module")
def batch(scenes):
    return scenes.generate("train", 200)


def test_shapes_and_ranges(batch):
    assert batch["image"].shape == (200, 32, 32, 3) and batch["image"].dtype == np.uint8
    assert batch["label_map"].max() <= GROUND
    np.testing.assert_allclose(np.unique(batch["attributes"]), [0.0, 1 / 3, 2 / 3, 1.0], rtol=1e-6)
    assert batch["scenicness"].shape == (200,) and (batch["scenicness_variance"] >= 0).all()


def test_deterministic_by_seed_split_and_index(scenes, batch):
    again = scenes.generate("train", 5, start=10)
    np.testing.assert_array_equal(again["image"], batch["image"][10:15])
    np.testing.assert_array_equal(again["scenicness"], batch["scenicness"][10:15])
    other_split = scenes.generate("test", 5, start=10)
    assert not np.array_equal(other_split["image"], again["image"])
    other_seed = SyntheticScenes(image_size=32, template_size=4, seed=4).generate("train", 5, start=10)
    assert not np.array_equal(other_seed["image"], again["image"])


def test_outputs_follow_the_rule_computed_independently(scenes, batch):
    # Independent computation: block-average each concept's mask, weight by the template.
    masks = batch["label_map"][..., None] == np.arange(len(CONCEPTS))
    pooled = masks.reshape(200, 4, 8, 4, 8, len(CONCEPTS)).mean(axis=(2, 4))
    for name in scenes.output_names:
        expected = np.einsum("nstk,stk->nk", pooled, scenes.templates[name]) * scenes.weights[name]
        np.testing.assert_allclose(batch[f"{name}_contributions"], expected, atol=1e-5)
    residual = batch["scenicness"] - scenes.biases["scenicness"] - expected_sum(batch, "scenicness")
    assert 0.05 < residual.std() < 0.15  # the label noise, sd 0.1


def expected_sum(batch, name):
    return batch[f"{name}_contributions"].sum(axis=1)


def test_zero_weight_concepts_appear_but_do_not_matter(batch):
    zero = [k for k, c in enumerate(CONCEPTS) if TRUE_WEIGHTS["scenicness"][c] == 0.0]
    assert zero, "the rule must have concepts that do not matter"
    for k in zero:
        assert (batch["attributes"][:, k] > 0).mean() > 0.2
        assert (batch["scenicness_contributions"][:, k] == 0).all()


def test_every_concept_is_sometimes_present_and_sometimes_absent(batch):
    present = (batch["attributes"] > 0).mean(axis=0)
    assert ((present > 0.2) & (present < 0.95)).all(), dict(zip(CONCEPTS, present))


def test_templates_are_location_dependent_and_left_right_symmetric(scenes):
    templates = scenes.templates["scenicness"]
    water = CONCEPTS.index("water")
    assert templates[-1, 0, water] > templates[0, 0, water]
    np.testing.assert_array_equal(templates, templates[:, ::-1])
    assert (templates >= 0).all()


def test_labels_grade_coverage(batch):
    coverage = (batch["label_map"][..., None] == np.arange(len(CONCEPTS))).mean(axis=(1, 2))
    assert (batch["attributes"][coverage == 0] == 0).all()
    assert (batch["attributes"][coverage > 0.08] == 1).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"image_size": 8}, "image_size"), ({"template_size": 0}, "template_size"), ({"noise": -1}, "noise")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticScenes(**kwargs)


def test_unknown_split(scenes):
    with pytest.raises(ValueError, match="Unknown split 'dev'. Choose one of: train, validation, test"):
        scenes.generate("dev", 1)


def test_the_landscape_output_follows_its_siam_rule_and_changes_nothing_else():
    from siam_keras.data.synthetic_scenes import LANDSCAPE_CLASSES

    paper = SyntheticScenes(image_size=32, template_size=4).generate("test", 40)
    both = SyntheticScenes(image_size=32, template_size=4, outputs=("scenicness", "landscape"))
    with_landscape = both.generate("test", 40)
    np.testing.assert_array_equal(with_landscape["image"], paper["image"])
    np.testing.assert_array_equal(with_landscape["scenicness"], paper["scenicness"])
    scenes = SyntheticScenes(image_size=32, template_size=4, noise=0.0,
                             outputs=("scenicness", "landscape"))
    batch = scenes.generate("test", 40)
    assert scenes.output_classes == {"landscape": LANDSCAPE_CLASSES}
    contributions = batch["landscape_contributions"]
    assert contributions.shape == (40, len(scenes.attribute_names), 4)
    # Noise-free, the class is the argmax of bias + the sum of the true contributions, which
    # are w_kc <T_kc, pool(M_k)> computed here from the pooled masks independently.
    pooled = scenes.pooled_masks(batch["label_map"])
    expected = np.einsum("nstk,stkc->nkc", pooled, scenes.templates["landscape"]) * \
        scenes.weights["landscape"][None]
    np.testing.assert_allclose(contributions, expected, rtol=1e-5, atol=1e-6)
    logits = scenes.biases["landscape"] + contributions.sum(axis=1)
    np.testing.assert_array_equal(batch["landscape"], np.argmax(logits, axis=1))
    assert len(set(batch["landscape"].tolist())) >= 3  # the classes all occur
    with pytest.raises(ValueError, match="`outputs` must be unique names among"):
        SyntheticScenes(outputs=("scenicness", "habitat"))
