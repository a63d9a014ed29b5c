import keras
import numpy as np
import pytest

from siam_keras.explanations.gradients import value_and_gradients
from training.losses import AttributeLoss, SquaredError, siam_losses


def test_attribute_loss_is_bce_of_tanh():
    labels = np.array([[1.0, 0.0, 2 / 3]], "float32")
    scores = np.array([[0.5, 0.2, 1.0]], "float32")
    p = np.tanh(scores)
    expected = -(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean()
    assert float(AttributeLoss()(labels, scores)) == pytest.approx(expected, rel=1e-5)


def _pytorch_bce_gradient(score, label):
    """d/ds of PyTorch's BCELoss(tanh(s), label), in float64: its backward is
    (p - y) / max(p (1 - p), 1e-12) times tanh's derivative 1 - p^2."""
    p = np.tanh(np.float64(score))
    return (p - label) / max(p * (1 - p), 1e-12) * (1 - p * p)


@pytest.mark.parametrize("score, label", [(1e-8, 2 / 3), (1e-8, 1.0), (8.0, 2 / 3), (8.0, 1.0),
                                          (0.3, 1 / 3)])
def test_attribute_loss_keeps_pytorchs_gradient_near_zero_and_in_saturation(score, label):
    """A clip of tanh(s) to [1e-6, 1 - 1e-6] gave 0 at both ends: a nearly dead attribute
    (score 1e-8) could not come back, a saturated one (score 8, label 2/3) was not pulled
    down. (One attribute, so the mean over attributes is the value itself.)"""
    value, (gradient,) = value_and_gradients(
        lambda s: AttributeLoss().call(np.array([[label]], "float32"), s)[0],
        [np.array([[score]], "float32")])
    expected = _pytorch_bce_gradient(score, label)
    assert float(np.asarray(gradient)[0, 0]) == pytest.approx(expected, rel=1e-3)
    p = np.tanh(np.float64(score))
    log_p, log_q = max(np.log(p), -100), max(np.log1p(-p), -100)
    assert float(value) == pytest.approx(-(label * log_p + (1 - label) * log_q), rel=1e-4)


def test_attribute_loss_grows_past_float32s_tanh_saturation():
    """At s = 20, tanh(s) is 1.0 in float32: PyTorch clamps log(0) at -100; the log-space
    loss is 40 - log 2 per unit of (1 - label), with gradient 2 (1 - label)."""
    value, (gradient,) = value_and_gradients(
        lambda s: AttributeLoss().call(np.array([[0.0]], "float32"), s)[0],
        [np.array([[20.0]], "float32")])
    assert float(value) == pytest.approx(40 - np.log(2), rel=1e-5)
    assert float(np.asarray(gradient)[0, 0]) == pytest.approx(2.0, rel=1e-5)


def test_zero_scores_do_not_give_nan():
    scores = np.zeros((2, 3), "float32")
    value, (gradient,) = value_and_gradients(
        lambda s: AttributeLoss()(np.ones((2, 3), "float32"), s), [scores])
    assert float(value) == pytest.approx(100.0)  # PyTorch's clamp of log(0)
    assert np.isfinite(np.asarray(gradient)).all()


@pytest.mark.parametrize("loss, shape", [(AttributeLoss(), (4, 3)), (SquaredError(), (4,))])
def test_masked_samples_add_nothing_to_loss_or_gradient(loss, shape, rng):
    y_true = rng.random(shape).astype("float32")
    y_pred = rng.random(shape).astype("float32") + 0.1
    weights = np.array([1.0, 0.0, 1.0, 0.0], "float32")
    value, (gradient,) = value_and_gradients(
        lambda p: loss(y_true, p, sample_weight=weights), [y_pred])
    gradient = np.asarray(gradient)
    assert (gradient[weights == 0] == 0).all() and (gradient[weights == 1] != 0).any()
    # Changing the masked samples' labels changes nothing.
    y_changed = y_true.copy()
    y_changed[weights == 0] = 1 - y_changed[weights == 0]
    assert float(loss(y_changed, y_pred, sample_weight=weights)) == pytest.approx(float(value))


def test_losses_serialise():
    for loss in (AttributeLoss(), SquaredError()):
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()


def test_siam_losses_cover_each_output_and_the_attribute_scores():
    losses = siam_losses(["scenicness", "scenicness_variance"])
    assert set(losses) == {"scenicness", "scenicness_variance", "attribute_scores"}
    assert isinstance(losses["attribute_scores"], AttributeLoss)
    assert isinstance(losses["scenicness"], SquaredError)


def test_masked_samples_add_exactly_nothing_to_the_other_tasks_loss_and_gradient(rng):
    """Two SUN samples (attributes only) and two ScenicOrNot ones (scores only) in one
    batch: each task's loss and its gradient are those of its own samples alone.
    (Inference mode: in training mode batch normalisation couples a batch's samples
    through its statistics, whatever the losses.)"""
    from siam_keras.models import build_siam_model

    model = build_siam_model(["a", "b", "c"], ["scenicness"], image_size=32, template_size=4,
                             border_size=0)
    images = (rng.random((4, 32, 32, 3)) * 255).astype("float32")
    targets = {"attribute_scores": np.array([[1, 0, 2 / 3], [1 / 3, 1, 0], [0, 0, 0], [0, 0, 0]],
                                            "float32"),
               "scenicness": np.array([0, 0, 6.5, 4.0], "float32")}
    weights = {"attribute_scores": np.array([1, 1, 0, 0], "float32"),
               "scenicness": np.array([0, 0, 1, 1], "float32")}
    losses = siam_losses(["scenicness"])

    def loss_and_gradients(key, rows):
        def loss(*_):  # reads the weights through the model
            predictions = model(images[rows], training=False)
            return losses[key](targets[key][rows], predictions[key], weights[key][rows])

        value, gradients = value_and_gradients(loss, model.trainable_weights)
        return float(value), gradients

    for key, own in (("scenicness", slice(2, 4)), ("attribute_scores", slice(0, 2))):
        mixed_loss, mixed_gradients = loss_and_gradients(key, slice(0, 4))
        own_loss, own_gradients = loss_and_gradients(key, own)
        assert mixed_loss == pytest.approx(own_loss, rel=1e-6) and own_loss > 0
        assert any(np.abs(np.asarray(g)).max() > 0 for g in own_gradients)
        for mixed, alone in zip(mixed_gradients, own_gradients):
            # Float sums over 4 or 2 images round differently: the tolerance is 1e-5 of
            # the gradient's scale, far below what one leaked sample would add.
            alone = np.asarray(alone)
            np.testing.assert_allclose(np.asarray(mixed), alone, rtol=1e-5,
                                       atol=1e-5 * np.abs(alone).max())
    scores = keras.ops.convert_to_numpy(model(images, training=False)["scenicness"])
    _, (gradient,) = value_and_gradients(
        lambda p: losses["scenicness"](targets["scenicness"], p, weights["scenicness"]), [scores])
    gradient = np.asarray(gradient)
    assert (gradient[:2] == 0).all() and (gradient[2:] != 0).all()


def test_paper_weighting_rescales_each_term_to_the_attribute_loss():
    from training.losses import paper_weighted_loss

    terms = [np.float32(0.5), np.float32(4.0), np.float32(200.0)]
    total, (d_sun, d_son, d_templates) = value_and_gradients(paper_weighted_loss, terms)
    assert float(total) == pytest.approx(0.5 * (1 + 0.1 + 0.001))
    assert float(d_sun) == pytest.approx(1.0)  # the ratios are detached
    assert float(d_son) == pytest.approx(0.1 * 0.5 / 4.0)
    assert float(d_templates) == pytest.approx(0.001 * 0.5 / 200.0)
    zero = np.float32(0.0)
    assert float(paper_weighted_loss(terms[0], zero, zero)) == pytest.approx(0.5)


def test_softmax_cross_entropy_matches_numpy_and_masks_missing_labels(rng):
    from training.losses import SoftmaxCrossEntropy

    logits = rng.normal(size=(4, 3)).astype("float32")
    labels = np.array([2, 0, -1, 1])
    per_sample = np.asarray(SoftmaxCrossEntropy().call(labels, logits))
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(4), np.maximum(labels, 0)]
    np.testing.assert_allclose(per_sample, expected, rtol=1e-5)
    weights = (labels >= 0).astype("float32")
    mean = float(SoftmaxCrossEntropy()(labels, logits, sample_weight=weights))
    assert mean == pytest.approx(expected[[0, 1, 3]].mean(), rel=1e-5)


def test_sigmoid_cross_entropy_averages_each_tags_log_loss_and_masks_missing_rows(rng):
    from training.losses import SigmoidCrossEntropy

    logits = rng.normal(size=(3, 4)).astype("float32")
    tags = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], "float32")
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    expected = -(tags * np.log(p) + (1 - tags) * np.log(1 - p)).mean(axis=1)
    np.testing.assert_allclose(np.asarray(SigmoidCrossEntropy().call(tags, logits)), expected,
                               rtol=1e-5)
    weights = np.array([1, 0, 1], "float32")
    mean = float(SigmoidCrossEntropy()(tags, logits, sample_weight=weights))
    assert mean == pytest.approx(expected[[0, 2]].mean(), rel=1e-5)


def test_the_paper_weighting_takes_each_outputs_kind_loss(rng):
    """A (B, T) multi-label output is not a (B, C) classification output: each gets its
    kind's loss (the shape once picked softmax cross-entropy for both, and the tags' 0/1
    targets failed as class indices)."""
    from siam_keras.models import build_siam_model
    from siam_keras.runtime.output_kinds import Classification, MultiLabel
    from training.losses import SigmoidCrossEntropy, SoftmaxCrossEntropy
    from training.weighting import PaperLossWeighting

    kinds = {"score": {}, "landscape": Classification(["a", "b", "c"]).to_json(),
             "tags": MultiLabel(["x", "y", "z"]).to_json()}
    model = build_siam_model(["p", "q"], list(kinds), image_size=32, template_size=4,
                             border_size=0, output_kinds=kinds)
    paper = PaperLossWeighting(model.input, model.output, name=model.name)
    assert [type(paper.output_losses[name]) for name in ("landscape", "tags")] == [
        SoftmaxCrossEntropy, SigmoidCrossEntropy]
    images = rng.random((4, 32, 32, 3)).astype("float32") * 255
    targets = {"attribute_scores": rng.random((4, 2)).astype("float32"),
               "score": rng.random(4).astype("float32"), "landscape": np.array([0, 2, 1, 0]),
               "tags": (rng.random((4, 3)) > 0.5).astype("float32")}
    loss = paper.compute_loss(images, targets, paper(images))
    assert np.isfinite(float(loss))
