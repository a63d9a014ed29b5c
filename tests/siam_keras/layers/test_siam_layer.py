import keras
import numpy as np
import pytest

from siam_keras.layers import SIAMLayer
from tests.layer_checks import run_layer_test

ATTRIBUTES = ["trees", "water", "road", "sky"]


def numpy_siam_head(features, weights, output_names, head, template_size, border_size):
    """Independent NumPy implementation of the SIAM head, loops over cells."""
    kernel, bias = weights["attribute_kernel"], weights["attribute_bias"]
    batch, height, width, _ = features.shape
    maps = np.maximum(np.tensordot(features, kernel[0, 0], axes=([3], [0])) + bias, 0.0)
    if border_size:
        inner = np.zeros_like(maps)
        b = border_size
        inner[:, b:height - b, b:width - b] = maps[:, b:height - b, b:width - b]
        maps = inner
    scores = maps.mean(axis=(1, 2))
    pooled = np.zeros((batch, template_size, template_size, maps.shape[-1]))
    for i in range(template_size):
        r0, r1 = int(np.floor(i * height / template_size)), int(np.ceil((i + 1) * height / template_size))
        for j in range(template_size):
            c0, c1 = int(np.floor(j * width / template_size)), int(np.ceil((j + 1) * width / template_size))
            pooled[:, i, j] = maps[:, r0:r1, c0:c1].mean(axis=(1, 2))
    result = {"attribute_maps": maps, "attribute_scores": scores}
    for name in output_names:
        mixing = weights[f"{name}_mixing"]
        if head == "linear":
            contributions = scores * mixing[:, 0]
        else:
            templates = weights[f"{name}_templates"]  # (S, S, K, G)
            responses = np.maximum(np.einsum("bstk,stkg->bkg", pooled, templates), 0.0)
            contributions = (responses * mixing).sum(-1)
        result[f"{name}_contributions"] = contributions
        result[name] = contributions.sum(-1) + weights[f"{name}_bias"]
    return result


def _weights(layer):
    return {w.path.split("/")[-1]: np.asarray(w.numpy(), "float64") for w in layer.weights}


def _randomise(layer, rng):
    for w in layer.weights:
        value = rng.normal(0, 0.5, w.shape)
        if w.path.endswith("templates"):
            value = np.abs(value)
        w.assign(value.astype("float32"))


@pytest.mark.parametrize(
    "head, grid, template_size, border_size",
    [("templates", 8, 4, 1), ("templates", 7, 3, 0), ("templates", 6, 6, 2),
     ("templates", 5, 8, 0), ("linear", 8, 4, 1)],
)
def test_matches_numpy_reference(head, grid, template_size, border_size, rng):
    features = rng.normal(size=(2, grid, grid, 6)).astype("float32")
    layer = SIAMLayer(ATTRIBUTES, output_names=["scenicness", "scenicness_variance"], head=head,
                      template_size=template_size, border_size=border_size)
    layer.build(features.shape)
    _randomise(layer, rng)
    got = {k: np.asarray(v) for k, v in layer(features).items()}
    expected = numpy_siam_head(features.astype("float64"), _weights(layer),
                               ["scenicness", "scenicness_variance"], head, template_size, border_size)
    assert set(got) == set(expected)
    for key in expected:
        assert np.max(np.abs(got[key] - expected[key])) < 1e-5, key


def test_layer_checks_shapes_dtypes_serialisation(tmp_path, rng):
    features = rng.normal(size=(2, 8, 8, 5)).astype("float32")
    outputs = run_layer_test(
        SIAMLayer,
        {"attribute_names": ATTRIBUTES, "output_names": ["scenicness"], "template_size": 4,
         "border_size": 1},
        features,
        {"attribute_maps": (2, 8, 8, 4), "attribute_scores": (2, 4),
         "scenicness": (2,), "scenicness_contributions": (2, 4)},
        tmp_path,
    )
    assert (outputs["attribute_maps"] >= 0).all()
    assert (outputs["attribute_maps"][:, 0] == 0).all() and (outputs["attribute_maps"][:, :, -1] == 0).all()


def test_symbolic_batch_dimension_is_unknown():
    outputs = SIAMLayer(3, output_names=["s"], template_size=2, border_size=0)(keras.Input((4, 4, 2)))
    assert outputs["attribute_maps"].shape == (None, 4, 4, 3)
    assert outputs["s"].shape == (None,)


def test_output_is_sum_of_contributions_plus_bias(rng):
    layer = SIAMLayer(ATTRIBUTES, output_names=["scenicness", "scenicness_variance"], template_size=4,
                      border_size=0, initial_biases={"scenicness": 5.5, "scenicness_variance": 1.25})
    layer.build((None, 8, 8, 3))
    _randomise(layer, rng)
    out = layer(rng.normal(size=(3, 8, 8, 3)).astype("float32"))
    for name in ("scenicness", "scenicness_variance"):
        bias = float(layer.biases[name].numpy())
        total = np.asarray(out[f"{name}_contributions"]).sum(-1) + bias
        np.testing.assert_allclose(np.asarray(out[name]), total, atol=1e-5)


def test_initial_bias_and_mixing_follow_the_paper():
    layer = SIAMLayer(4, output_names=["scenicness"], template_size=4, border_size=0,
                      initial_biases={"scenicness": 5.5})
    layer.build((None, 8, 8, 3))
    assert float(layer.biases["scenicness"].numpy()) == 5.5
    np.testing.assert_allclose(layer.mixing["scenicness"].numpy(), [[0.125, -0.125]] * 4)
    np.testing.assert_allclose(layer.templates["scenicness"].numpy(), 0.01)


def test_templates_stay_non_negative_after_fit_from_negative_init(rng):
    layer = SIAMLayer(3, output_names=["scenicness"], template_size=4, border_size=0,
                      template_initializer=keras.initializers.Constant(-0.5))
    inputs = keras.Input((8, 8, 4))
    model = keras.Model(inputs, layer(inputs)["scenicness"])
    assert (layer.templates["scenicness"].numpy() < 0).all()
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    x = rng.normal(size=(16, 8, 8, 4)).astype("float32")
    model.fit(x, rng.normal(size=(16,)).astype("float32"), epochs=2, batch_size=4, verbose=0)
    assert (layer.templates["scenicness"].numpy() >= 0).all()


def test_mixed_float16_keeps_float32_variables_outputs_and_applies_all_updates(rng):
    keras.config.set_dtype_policy("mixed_float16")
    layer = SIAMLayer(4, output_names=["scenicness"], template_size=8, border_size=2)
    inputs = keras.Input((32, 32, 16))
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    assert layer.compute_dtype == "float16"
    assert all(w.dtype == "float32" for w in layer.weights)
    assert all(v.dtype == "float32" for v in outputs.values())
    # Large features: float16 sums over 32 x 32 cells would overflow (> 65504).
    x = (rng.random((4, 32, 32, 16)) * 300).astype("float32")
    y = {"scenicness": rng.normal(size=(4,)).astype("float32")}
    model.compile(keras.optimizers.Adam(1e-3), loss={"scenicness": "mse"})
    eager = model(x)
    assert all(np.asarray(v).dtype == np.float32 for v in eager.values())
    assert all(np.isfinite(np.asarray(v)).all() for v in eager.values())
    templates_before = layer.templates["scenicness"].numpy().copy()
    model.fit(x, y, epochs=20, batch_size=4, verbose=0)
    # With loss scaling (the model is mixed_float16), an overflowing step would be
    # skipped: the inner optimizer's count says none was, and the scale held.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert int(model.optimizer.inner_optimizer.iterations.numpy()) == 20
    assert float(model.optimizer.dynamic_scale.numpy()) >= 2.0**15
    assert not np.allclose(layer.templates["scenicness"].numpy(), templates_before)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"attribute_names": []}, ValueError, "zero attributes"),
        ({"attribute_names": 0}, ValueError, "attribute_names"),
        ({"attribute_names": "trees"}, TypeError, "list of names"),
        ({"attribute_names": ["a", "a"]}, ValueError, "unique"),
        ({"attribute_names": 3, "head": "mlp"}, ValueError, "templates"),
        ({"attribute_names": 3, "num_templates": 0}, ValueError, "num_templates=0"),
        ({"attribute_names": 3, "template_size": 2.5}, ValueError, "template_size"),
        ({"attribute_names": 3, "border_size": -1}, ValueError, "border_size=-1"),
        ({"attribute_names": 3, "output_names": ["attribute_maps"]}, ValueError, "reserved"),
        ({"attribute_names": 3, "output_names": ["s"], "initial_biases": {"t": 1.0}}, ValueError, "unknown outputs"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        SIAMLayer(**kwargs)


def test_wrong_input_rank_names_the_shape():
    layer = SIAMLayer(3, output_names=["s"], template_size=2, border_size=0)
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\).*Received"):
        layer(np.zeros((2, 8, 8), "float32"))


def test_border_larger_than_grid_is_refused():
    layer = SIAMLayer(3, output_names=["s"], template_size=2, border_size=2)
    with pytest.raises(ValueError, match="border_size"):
        layer(np.zeros((1, 4, 4, 2), "float32"))


@pytest.mark.parametrize("head, grid, template_size", [("templates", 8, 4), ("templates", 7, 3),
                                                       ("templates", 5, 8), ("linear", 6, 3)])
def test_cell_templates_reproduce_each_template_response(head, grid, template_size, rng):
    layer = SIAMLayer(ATTRIBUTES, output_names=["s"], head=head, template_size=template_size,
                      border_size=0)
    layer.build((None, grid, grid, 3))
    _randomise(layer, rng)
    maps = rng.random((2, grid, grid, len(ATTRIBUTES)))
    cells = layer.cell_templates("s")
    responses = np.einsum("bhwk,hwkg->bkg", maps, cells)
    if head == "linear":
        expected = maps.mean(axis=(1, 2))[:, :, None]
    else:
        pooled = np.stack([np.stack([
            maps[:, int(np.floor(i * grid / template_size)):int(np.ceil((i + 1) * grid / template_size)),
                 int(np.floor(j * grid / template_size)):int(np.ceil((j + 1) * grid / template_size))
                 ].mean(axis=(1, 2)) for j in range(template_size)], axis=1) for i in range(template_size)],
            axis=1)
        expected = np.einsum("bstk,stkg->bkg", pooled, _weights(layer)["s_templates"])
    np.testing.assert_allclose(responses, expected, rtol=1e-5, atol=1e-6)


def test_outputs_from_maps_is_the_rest_of_call(rng):
    layer = SIAMLayer(ATTRIBUTES, output_names=["s"], template_size=4, border_size=1)
    features = rng.normal(size=(3, 8, 8, 5)).astype("float32")
    direct = layer(features)
    maps = layer.compute_attribute_maps(features)
    via_maps = layer.outputs_from_maps(maps)
    for key in direct:
        np.testing.assert_array_equal(np.asarray(direct[key]), np.asarray(via_maps[key]))


def test_contribution_regularizer_adds_the_batch_mean_penalty_and_serialises(rng):
    layer = SIAMLayer(ATTRIBUTES, output_names=["s", "t"], template_size=4, border_size=0,
                      contribution_regularizer=keras.regularizers.L1(0.5))
    features = rng.normal(size=(4, 8, 8, 5)).astype("float32")
    out = layer(features)
    expected = sum(0.5 * np.abs(np.asarray(out[f"{n}_contributions"])).sum() / 4 for n in ("s", "t"))
    assert len(layer.losses) == 2
    np.testing.assert_allclose(float(sum(np.asarray(v) for v in layer.losses)), expected, rtol=1e-5)
    revived = SIAMLayer.from_config(layer.get_config())
    assert revived.contribution_regularizer.get_config() == {"l1": 0.5}
    # Editing maps (interventions) runs the head without adding training losses.
    layer.outputs_from_maps(np.ones((4, 8, 8, len(ATTRIBUTES)), "float32"))
    assert len(layer.losses) == 2
