import subprocess
import sys
from pathlib import Path

import pytest

from export.config import ExportConfig
from export.targets import TARGETS, ExportContext, ExportTarget, targets_for
from siam_keras.model_files import MODEL_KINDS, model_kind

FAST = {"calibration_images": 4, "holdout_images": 4, "latency_runs": 2}


def _outputs(config, version=1):
    context = ExportContext(config=config, out=Path(config.out), version=version)
    configured, _ = targets_for(config)
    return {target.name: target.outputs(context) for target in configured}


def _files(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _covered(path, outputs):
    return any(path == o or (o.endswith("/") and path.startswith(o)) for o in outputs)


def test_every_target_implements_the_interface():
    assert list(TARGETS) == ["saved_model", "tflite", "test_vectors", "edge_wheel", "web"]
    for number, (name, target) in enumerate(TARGETS.items()):
        assert isinstance(target, type) and issubclass(target, ExportTarget)
        assert target.name == name
        for text in (target.description, target.checked_by):
            assert text and "\n" not in text, (name, text)
        # Its outputs, its check and its writing are its own (abstract in ExportTarget).
        assert {"outputs", "check", "write"} <= set(vars(target)), name
        assert not target.__abstractmethods__
        assert target.model_kind is None or target.model_kind in MODEL_KINDS
        assert set(target.needs) <= set(list(TARGETS)[:number]), name
    assert {t.model_kind for t in TARGETS.values()} - {None} == {"saved_model", "tflite"}
    with pytest.raises(TypeError, match="abstract"):
        ExportTarget()


def test_outputs_are_relative_and_no_two_targets_declare_one(tmp_path):
    config = ExportConfig(model="m.keras", out=str(tmp_path), web=True, variants="float32,int8")
    outputs = _outputs(config, version=3)
    assert outputs["saved_model"] == ("saved_model/3/",)
    assert outputs["web"] == ("web/",)
    declared = [o for found in outputs.values() for o in found]
    assert len(declared) == len(set(declared)) and "fidelity.json" in declared
    for output in declared:
        assert not output.startswith("/") and ".." not in output.split("/"), output


def test_the_web_page_is_a_target_only_with_web(tmp_path):
    def names(targets):
        return [target.name for target in targets]

    configured, others = targets_for(ExportConfig(model="m.keras", out=str(tmp_path)))
    assert names(configured) == ["saved_model", "tflite", "test_vectors", "edge_wheel"]
    assert names(others) == ["web"]
    configured, others = targets_for(ExportConfig(model="m.keras", out=str(tmp_path), web=True))
    assert names(configured) == list(TARGETS) and others == []


def test_a_target_without_what_it_needs_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("export.targets.TARGETS",
                        {name: target for name, target in TARGETS.items() if name != "tflite"})
    with pytest.raises(ValueError, match="The export target test_vectors needs tflite before"):
        targets_for(ExportConfig(model="m.keras", out=str(tmp_path)))


def test_staged_outputs_take_their_names_together_and_staging_goes(tmp_path):
    (tmp_path / "tflite").mkdir()
    (tmp_path / "tflite" / "old.tflite").write_bytes(b"old")
    (tmp_path / ".export-k1lled09").mkdir()  # a hard kill's staging folder
    (tmp_path / ".export-backup").mkdir()  # a user's: kept
    with ExportContext(config=None, out=tmp_path) as context:
        context.remove_staging_left()
        folder = context.staged("tflite")
        folder.mkdir()
        (folder / "model.tflite").write_bytes(b"new")
        context.staged("fidelity.json").write_text("{}")
        assert context.path("tflite/model.tflite") == folder / "model.tflite"
        assert context.path("edge/x.whl") == tmp_path / "edge" / "x.whl"
        assert not (tmp_path / "fidelity.json").exists()
        context.commit()
        assert context.path("tflite") == tmp_path / "tflite"
    assert _files(tmp_path) == {"tflite/model.tflite", "fidelity.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export-backup", "fidelity.json",
                                                          "tflite"]


def test_the_targets_import_no_tensorflow():
    code = ("import sys, export.targets; "
            "sys.exit(1 if {'tensorflow', 'keras'} & set(sys.modules) else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_run_writes_exactly_what_its_targets_declare_and_no_web_page_without_web(tiny_models,
                                                                                 tmp_path):
    from export.run import run

    out = tmp_path / "export"
    config = ExportConfig(model=str(tiny_models[0]), out=str(out), variants="float32", **FAST)
    lines = []
    run(config, log=lines.append)
    outputs = _outputs(config)
    declared = [o for found in outputs.values() for o in found]
    assert not [path for path in _files(out) if not _covered(path, declared)]
    assert all((out / output).exists() for output in declared)
    assert not (out / "web").exists() and "web" not in outputs
    for target in TARGETS.values():
        if target.model_kind and target.name in outputs:
            kinds = {model_kind(out / o) for o in outputs[target.name] if not
                     o.endswith(".json")}
            assert kinds == {target.model_kind}, target.name
    assert [line.split("]")[0] for line in lines if line.startswith("[")] == [
        "[1/4", "[2/4", "[3/4", "[4/4"]
    assert lines[-1] == f"Wrote {out}/ (saved_model/1/, tflite/, fidelity.json, edge/)"


@pytest.mark.slow
def test_an_export_with_web_holds_exactly_its_targets_outputs(tiny_models, tiny_export):
    config = ExportConfig(model=str(tiny_models[0]), out=str(tiny_export), web=True)
    outputs = _outputs(config)
    declared = [o for found in outputs.values() for o in found]
    assert list(outputs) == list(TARGETS)
    assert not [path for path in _files(tiny_export) if not _covered(path, declared)]
    assert all((tiny_export / output).exists() for output in declared)
