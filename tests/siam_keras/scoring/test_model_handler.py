import numpy as np
import pytest

pytest.importorskip("apache_beam")

from siam_keras.runtime.explanation import ExplanationError
from siam_keras.runtime.explanation_table import explanation_row
from siam_keras.runtime.locations import Location
from siam_keras.scoring.model_handler import SIAMModelHandler
from siam_keras.scoring.photo_reader import ImageKey


class Faulty:
    """An explainer whose explanation of an all-white image does not add up, and
    whose model fails on an all-black one."""

    def __init__(self, explainer):
        self.explainer = explainer

    def __call__(self, pixels, top_k):
        if (pixels == 255).all(axis=(1, 2, 3)).any():
            raise ExplanationError("the contributions miss the output by 3%")
        if (pixels == 0).all(axis=(1, 2, 3)).any():
            raise RuntimeError("the model refused it")
        return self.explainer(pixels, top_k=top_k)


def key(name, location=None):
    return ImageKey(f"photos/{name}.png", location, name, "PNG", "RGB", 64, 48)


@pytest.fixture(scope="module")
def handler_and_model(tiny_models):
    handler = SIAMModelHandler(str(tiny_models[0]), top_k=3, batch_size=4, records=True)
    return handler, handler.load_model()


def test_one_bad_photo_fails_alone_and_the_others_are_the_batchs_rows(handler_and_model, rng):
    handler, model = handler_and_model
    pixels = rng.integers(1, 255, (4, 32, 32, 3), dtype=np.uint8)
    pixels[1], pixels[3] = 255, 0
    keys = [key("a", Location(1.0, 2.0)), key("white"), key("c"), key("black")]
    results = handler.run_inference(list(zip(keys, pixels)), Faulty(model))
    assert [r.image for r in results] == ["photos/a.png", "photos/white.png", "photos/c.png",
                                          "photos/black.png"]
    assert results[1].error == ("photos/white.png: its explanation does not add up (the "
                                "contributions miss the output by 3%)")
    assert results[3].error == ("photos/black.png: the model failed on it (RuntimeError: the "
                                "model refused it)")
    for i in (0, 2):
        alone = model(pixels[i][None], top_k=3)
        expected = explanation_row(alone, 0, keys[i].image, keys[i].location)
        assert results[i].row.keys() == expected.keys() and not results[i].failed
        for column, value in expected.items():
            assert results[i].row[column] == (pytest.approx(value, abs=1e-5)
                                              if isinstance(value, float) else value)
    assert (results[0].row["latitude"], results[0].row["longitude"]) == (1.0, 2.0)
    assert "latitude" not in results[2].row
    record = results[0].record
    assert record["location"] == {"latitude": 1.0, "longitude": 2.0, "source": "manifest"}
    assert record["source"] == {"format": "PNG", "mode": "RGB", "width": 64, "height": 48,
                                "decode_scale": 1}
    assert results[0].json_name == "a" and len(record["outputs"]["scenicness"]["top_k"]) == 3


def test_batches_are_of_batch_size_and_counted_by_their_pixels(tiny_models):
    handler = SIAMModelHandler(str(tiny_models[0]), batch_size=5)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 5, "max_batch_size": 5}
    batch = [(key("a"), np.zeros((32, 32, 3), np.uint8))] * 2
    assert handler.get_num_bytes(batch) == 2 * 32 * 32 * 3
    for wrong in (0, True, 2.0):
        with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
            SIAMModelHandler(str(tiny_models[0]), batch_size=wrong)
    with pytest.raises(ValueError, match="`top_k` must be a positive integer"):
        SIAMModelHandler(str(tiny_models[0]), top_k=0)
