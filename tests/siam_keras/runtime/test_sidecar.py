import json

import numpy as np
import pytest

from siam_keras.runtime.sidecar import FORMAT, ModelSidecar


@pytest.mark.slow
def test_round_trip_keeps_names_sizes_and_head(tiny_export, tmp_path):
    sidecar = ModelSidecar.load(tiny_export / "tflite" / "siam_model.json")
    assert sidecar.image_size == (32, 32) and sidecar.feature_grid == (8, 8)
    sidecar.save(tmp_path / "copy.json")
    again = ModelSidecar.load(tmp_path / "copy.json")
    assert again.attribute_names == sidecar.attribute_names
    assert again.variants == sidecar.variants and again.signatures == sidecar.signatures
    for name, head in sidecar.head.outputs.items():
        np.testing.assert_array_equal(again.head.outputs[name].cell_templates, head.cell_templates)
        assert again.head.outputs[name].bias == head.bias


def test_missing_damaged_or_foreign_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="sidecar not found.*nope.json"):
        ModelSidecar.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not readable JSON"):
        ModelSidecar.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a siam-keras model sidecar"):
        ModelSidecar.load(tmp_path / "other.json")
    (tmp_path / "partial.json").write_text(json.dumps({"format": FORMAT, "name": "m"}))
    with pytest.raises(ValueError, match="partial.json: the document lacks 'attribute_names'"):
        ModelSidecar.load(tmp_path / "partial.json")
