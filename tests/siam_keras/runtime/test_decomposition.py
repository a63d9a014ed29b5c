import numpy as np
import pytest

from siam_keras.explanations import HeadWeights, decompose
from siam_keras.layers import SIAMLayer

ATTRIBUTES = ["trees", "water", "road"]


def _layer(rng, head="templates", template_constraint="non_neg", grid=6):
    layer = SIAMLayer(ATTRIBUTES, output_names=["s", "t"], head=head, template_size=4,
                      border_size=1, template_constraint=template_constraint)
    layer.build((None, grid, grid, 5))
    for weight in layer.weights:
        value = rng.normal(0, 0.5, weight.shape)
        if weight.path.endswith("templates") and template_constraint is not None:
            value = np.abs(value)
        weight.assign(value.astype("float32"))
    return layer


@pytest.mark.parametrize("head, constraint", [("templates", "non_neg"), ("linear", "non_neg"),
                                              ("templates", None)])
def test_split_is_exact_and_matches_the_layer(head, constraint, rng):
    layer = _layer(rng, head, constraint)
    out = {k: np.asarray(v) for k, v in layer(rng.normal(size=(4, 6, 6, 5)).astype("float32")).items()}
    weights = HeadWeights.from_layer(layer)
    for name in ("s", "t"):
        split = decompose(weights.outputs[name], out["attribute_maps"])
        np.testing.assert_allclose(split.contributions, out[f"{name}_contributions"], atol=1e-5)
        np.testing.assert_allclose(split.relevance.sum(axis=(1, 2)), out[f"{name}_contributions"],
                                   atol=1e-5)
        np.testing.assert_allclose(split.totals, out[f"{name}_contributions"], atol=1e-5)
        np.testing.assert_allclose(split.spatial, split.relevance.sum(axis=-1), atol=1e-6)
        # Relevance lives where the attribute is: zero wherever its map is zero.
        assert np.all(split.relevance[out["attribute_maps"] == 0] == 0)


def test_inactive_templates_carry_no_relevance(rng):
    """With unconstrained (negative) templates a response can be clipped by the ReLU:
    its template must then add nothing anywhere."""
    layer = _layer(rng, "templates", None)
    head = HeadWeights.from_layer(layer).outputs["s"]
    maps = np.zeros((1, 6, 6, 3), "float32")
    maps[0, 2:4, 2:4, 0] = 1.0
    responses = np.einsum("bhwk,hwkg->bkg", maps, head.cell_templates)
    expected = (np.maximum(responses, 0) * head.mixing).sum(-1)
    split = decompose(head, maps)
    np.testing.assert_allclose(split.contributions, expected, atol=1e-6)
    gate = (responses[0, 0] > 0) * head.mixing[0]
    np.testing.assert_allclose(split.relevance[0, :, :, 0],
                               maps[0, :, :, 0] * (head.cell_templates[:, :, 0] @ gate), atol=1e-6)


def test_maps_of_the_wrong_grid_are_refused(rng):
    head = HeadWeights.from_layer(_layer(rng)).outputs["s"]
    with pytest.raises(ValueError, match=r"\(batch, 6, 6, 3\).*Received: \(1, 5, 5, 3\)"):
        decompose(head, np.zeros((1, 5, 5, 3)))
