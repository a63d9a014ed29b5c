"""A classification output through the whole export: SavedModel, every TFLite variant,
`siam-edge` and `ServingClient`, each checked against the Keras model's own numbers."""

import json

import numpy as np
import pytest

from tests.conftest import TINY_ATTRIBUTES, _randomise_head

pytestmark = pytest.mark.slow

CLASSES = ("coast", "forest", "town", "highlands")


@pytest.fixture(scope="module")
def classification_export(tmp_path_factory):
    """(model path, export folder) of a tiny SIAM model with a regression output and a
    4-class `landscape` output (per-class templates: the larger head)."""
    import keras

    from export.cli import main
    from siam_keras.models import build_siam_model

    keras.utils.set_random_seed(3)
    folder = tmp_path_factory.mktemp("classification_export")
    model = build_siam_model(list(TINY_ATTRIBUTES), ["scenicness", "landscape"], image_size=32,
                             template_size=4, border_size=0,
                             output_classes={"landscape": list(CLASSES)},
                             class_templates="per_class")
    _randomise_head(model, 2)
    model.save(folder / "siam.keras")
    out = folder / "export"
    assert main(["--model", str(folder / "siam.keras"), "--out", str(out),
                 "--calibration-images", "16", "--holdout-images", "12",
                 "--latency-runs", "3", "--web"]) == 0
    return folder / "siam.keras", out


def _logit_residual(explanation):
    landscape = explanation.output("landscape")
    total = landscape.bias[None] + landscape.contributions.sum(axis=1)
    return float(np.abs(landscape.value - total).max())


def test_keras_logits_are_bias_plus_contributions(classification_export, tiny_scenes):
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    model = load_model(classification_export[0])
    assert model.output_classes == {"landscape": CLASSES}
    explanation = SIAMExplainer(model)(tiny_scenes["image"])
    assert explanation.output("landscape").value.shape == (12, 4)
    assert explanation.output("landscape").contributions.shape == (12, len(TINY_ATTRIBUTES), 4)
    assert _logit_residual(explanation) < 1e-5


def test_every_tflite_variant_explains_classes_within_its_tolerance(classification_export,
                                                                    tiny_scenes):
    from siam_keras.edge import EdgeExplainer
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model

    model_path, out = classification_export
    sidecar = json.loads((out / "tflite" / "siam_model.json").read_text())
    assert sidecar["head"]["landscape"]["classes"] == list(CLASSES)
    fidelity = json.loads((out / "fidelity.json").read_text())
    reference = SIAMExplainer(load_model(model_path))(tiny_scenes["image"])
    for variant, entry in sidecar["tflite"].items():
        explainer = EdgeExplainer(out / "tflite" / entry["file"])
        explained = explainer(tiny_scenes["image"])
        assert _logit_residual(explained) <= explainer.tolerance * max(
            1.0, float(np.abs(explained.output("landscape").value).max()))
        assert "class_agreement" in fidelity["variants"][variant]["outputs"]["landscape"]
        if variant == "float32":
            np.testing.assert_allclose(explained.output("landscape").value,
                                       reference.output("landscape").value, atol=1e-4)


def test_the_serving_client_explains_classes_like_keras(classification_export, tiny_scenes):
    from siam_keras.explanations import SIAMExplainer
    from siam_keras.saving import load_model
    from siam_keras.serving import ServingClient
    from tests.fake_tf_serving import FakeTFServing

    model_path, out = classification_export
    images = tiny_scenes["image"][:5]
    with FakeTFServing(out / "saved_model" / "1") as server:
        served = ServingClient(out / "tflite" / "siam_model.json", server.url)(images)
    local = SIAMExplainer(load_model(model_path))(images)
    assert _logit_residual(served) < 1e-5
    np.testing.assert_allclose(served.output("landscape").contributions,
                               local.output("landscape").contributions, atol=1e-5)
    record = served.to_json(0)["outputs"]["landscape"]
    assert record["kind"] == "classification" and record["value"] in CLASSES
    assert record["value"] == CLASSES[int(np.argmax(local.output("landscape").value[0]))]


def test_the_sidecar_and_test_vectors_of_classes_follow_the_spec(classification_export):
    from siam_keras.edge import test_vectors
    from tests.export.test_sidecar_spec import validate

    out = classification_export[1]
    assert validate(out / "tflite" / "siam_model.json", "siam_model") == []
    assert validate(out / "tflite" / "test_vectors" / "test_vectors.json", "test_vectors") == []
    report = test_vectors.check(out / "tflite" / "test_vectors")
    assert set(report) == {"float32", "float16", "dynamic", "int8"}
    assert all(entry["passed"] for entry in report.values()), report


def test_the_web_page_shows_the_predicted_class_and_the_runner_up(classification_export):
    from siam_keras.edge import EdgeExplainer
    from siam_keras.edge import test_vectors as vectors
    from tests.web_browser import browser, explain_file, open_page, served

    web = classification_export[1] / "web"
    page_json = json.loads((web / "page.json").read_text())
    explainer = EdgeExplainer(classification_export[1] / "tflite" / page_json["model"])
    image = web / "test_vectors" / "image_02.png"
    pixels = vectors.read_pixels(image)[None]
    with served(web) as url, browser() as chromium:
        page = open_page(chromium, url + "index.html")
        page.select_option("#output", "landscape")
        explain_file(page, image)
        headline = page.locator("#prediction .headline")
        logits = json.loads(headline.get_attribute("data-logits"))
        shown = (headline.get_attribute("data-predicted"), headline.get_attribute("data-runner-up"))
        bars = page.evaluate("""() => Array.from(document.querySelectorAll('#bars .bar-row'))
            .map((row) => Number(row.dataset.value))""")
        page.locator('#sliders input[data-attribute="water"]').fill("2")
        what_if = page.evaluate("window.siamPage.result.whatIf.outputs.landscape.value")
        assert page.errors == []
    expected = explainer.predict(pixels)["landscape"][0]
    tolerance = vectors.TOLERANCE[page_json["variant"]]
    assert vectors.relative_error(logits, expected) <= tolerance
    order = np.argsort(-expected)
    assert shown == (CLASSES[order[0]], CLASSES[order[1]])
    # The bars: what separates the predicted class from the runner-up, adding up (bias,
    # one bar per attribute, total), as siam explain's figure draws them.
    bias, *attributes, total = bars
    assert len(attributes) == len(TINY_ATTRIBUTES)
    assert abs(bias + sum(attributes) - total) < 1e-4
    assert vectors.relative_error(total, logits[order[0]] - logits[order[1]]) < 1e-6
    counterfactual = explainer.intervene(pixels, {"water": 2.0}).counterfactual_outputs["landscape"]
    assert vectors.relative_error(what_if, counterfactual[0]) <= 1e-4
