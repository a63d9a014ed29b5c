import pytest

from siam_keras.model_files import MODEL_KINDS, ModelFile, ModelKind, model_kind


def test_each_kind_is_told_apart_by_what_identifies_it(tmp_path):
    version = tmp_path / "saved_model" / "3"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "m.keras").write_bytes(b"")
    (tmp_path / "m.TFLITE").write_bytes(b"")
    assert model_kind(version) == "saved_model"
    assert model_kind(str(version) + "/") == "saved_model"
    assert model_kind(tmp_path / "m.keras") == "keras"
    assert model_kind(tmp_path / "m.TFLITE") == "tflite"
    assert ModelFile(tmp_path / "m.keras").kind == "keras"


def test_a_wrong_model_path_says_what_was_expected(tmp_path):
    version = tmp_path / "saved_model" / "2"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match=r"holds SavedModel versions \['2'\]: give one version "
                                         r"folder, e.g. .*saved_model/2"):
        model_kind(tmp_path / "saved_model")
    (tmp_path / "model.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=r"model.h5 is no SIAM model file. Expected one of: "
                                         r"a SavedModel version folder.*\.tflite.*\.keras file"):
        ModelFile(tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="nothing.keras: no such model file or folder"):
        ModelFile(tmp_path / "nothing.keras")


def test_a_tflite_file_needs_its_own_sidecar(tmp_path):
    (tmp_path / "model_float32.tflite").write_bytes(b"not a model")
    with pytest.raises(FileNotFoundError, match="Model sidecar not found: .*siam_model.json"):
        ModelFile(tmp_path / "model_float32.tflite").describe()


def test_a_keras_file_is_described_from_the_model(tiny_models):
    from tests.conftest import TINY_ATTRIBUTES, TINY_OUTPUTS

    attributes, head, image_size = ModelFile(tiny_models[0]).describe()
    assert attributes == TINY_ATTRIBUTES and tuple(head.output_names) == TINY_OUTPUTS
    assert image_size == (32, 32)
    with pytest.raises(ValueError, match="baseline.keras: .* siam explain needs a SIAM model"):
        ModelFile(tiny_models[1]).load(command="siam explain")


def test_every_model_kind_is_a_class_of_the_registry(tmp_path, monkeypatch):
    assert list(MODEL_KINDS) == ["saved_model", "tflite", "keras"]
    for name, kind in MODEL_KINDS.items():
        assert isinstance(kind, type) and issubclass(kind, ModelKind) and kind.name == name
        assert kind.description and "load" in vars(kind), name

    class ONNXKind(ModelKind):  # a new kind is one class in the registry
        name, description, suffix = "onnx", "an .onnx file", ".onnx"

        @classmethod
        def load(cls, path, num_threads=None, command="this command"):
            return ("explainer of", path, command)

    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"Expected one of: .*\.keras file$"):
        model_kind(tmp_path / "m.onnx")
    monkeypatch.setitem(MODEL_KINDS, "onnx", ONNXKind)
    model = ModelFile(tmp_path / "m.onnx")
    assert model.kind == "onnx"
    assert model.load(command="siam explain") == ("explainer of", model.path, "siam explain")
    (tmp_path / "m.h5").write_bytes(b"")
    with pytest.raises(ValueError, match=r"Expected one of: .*\.keras file; an \.onnx file$"):
        model_kind(tmp_path / "m.h5")
