"""The second hardening wave, each reproduction as it was reported (all on 127.0.0.1).

Outputs never replace inputs or folders a command did not write, links planted in an
output folder are not followed, one command at a time writes a folder, reruns after a
kill replace their own files, and names from a hostile folder stay inert in tables and
logs.
"""

import csv
import json
import os
import subprocess
import sys
import time

import pytest
from PIL import Image

from siam_keras.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photos(tmp_path_factory, tiny_scenes):
    folder = tmp_path_factory.mktemp("hostile_photos")
    for i in range(3):
        Image.fromarray(tiny_scenes["image"][i]).save(folder / f"p{i:03d}.png")
    with open(folder / "m.csv", "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([["image"], *[[f"p{i:03d}.png"] for i in range(3)]])
    return folder


# 2. `siam score` replaced its own input.
@pytest.mark.parametrize("flags, message", [
    (lambda f, t: ["--input", str(f / "m.csv"), "--output", str(t / "s.parquet"), "--failures",
                   str(f / "m.csv")], "--failures .*m.csv is the input --input"),
    (lambda f, t: ["--input", str(t / "photos.parquet"), "--output", str(t / "photos.parquet")],
     "--output .*photos.parquet is the input --input"),
    (lambda f, t: ["--input", str(t / "photos.parquet"), "--output", str(t / "link.parquet")],
     "--output .*link.parquet is the input --input"),  # a symbolic link to the input
    (lambda f, t: ["--input", str(f / "m.csv"), "--output", str(t / "s.parquet"), "--failures",
                   str(t / "hard.csv")], "--failures .*hard.csv is the input --input"),  # a hard link
    (lambda f, t: ["--input", str(f / "m.csv"), "--output", str(t / "s.parquet"), "--failures",
                   str(t / "alias.csv")], "are the same file"),  # a (dangling) link to --output
])
def test_siam_score_never_writes_over_an_input(photos, tiny_models, tmp_path, capsys, flags,
                                               message):
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"image": [str(photos / "p000.png")], "mine": ["keep"]}),
                   tmp_path / "photos.parquet")
    (tmp_path / "link.parquet").symlink_to(tmp_path / "photos.parquet")
    os.link(photos / "m.csv", tmp_path / "hard.csv")
    (tmp_path / "alias.csv").symlink_to(tmp_path / "s.parquet")
    before = {path: path.read_bytes() for path in (photos / "m.csv", tmp_path / "photos.parquet")}
    code = main(["score", "--model", str(tiny_models[0]), *flags(photos, tmp_path)])
    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    for path, data in before.items():
        assert path.read_bytes() == data, path
    os.unlink(tmp_path / "hard.csv")


def test_siam_score_refuses_an_output_that_is_one_of_its_photos(photos, tiny_models, tmp_path,
                                                                 capsys):
    (tmp_path / "scores.csv").write_text("a user's file")
    with open(tmp_path / "m.csv", "w", newline="") as file:
        csv.writer(file).writerows([["image"], [str(photos / "p000.png")],
                                    [str(tmp_path / "scores.csv")]])
    code = main(["score", "--model", str(tiny_models[0]), "--input", str(tmp_path / "m.csv"),
                 "--output", str(tmp_path / "s.parquet"), "--failures",
                 str(tmp_path / "scores.csv")])
    assert code == 2 and "is an input photo" in capsys.readouterr().err
    assert (tmp_path / "scores.csv").read_text() == "a user's file"


# 10. Reruns of `siam score --explanations` doubled every file (p000-2.json).
def test_siam_score_reruns_replace_their_own_explanations(photos, tiny_models, tmp_path):
    args = ["score", "--model", str(tiny_models[0]), "--input", str(photos / "m.csv"),
            "--output", str(tmp_path / "s.parquet"), "--explanations", str(tmp_path / "json"),
            "--runner", "DirectRunner", "--direct_num_workers=1"]
    assert main(args) == 0
    first = sorted(p.name for p in (tmp_path / "json").iterdir())
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / "json").iterdir()) == first
    assert "p000.json" in first and not any("-2" in name for name in first)


# 5. summary.progress.jsonl was opened with open(..., "a"), following a planted link.
def test_a_link_planted_as_the_progress_log_is_not_followed(photos, tiny_models, tmp_path,
                                                             capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.progress.jsonl").symlink_to(victim)
    code = main(["explain", "--model", str(tiny_models[0]), str(photos / "p000.png"), "--out",
                 str(out), "--figures", "none"])
    assert victim.read_text() == "untouched\n"
    assert code != 0 and "symbolic link" in capsys.readouterr().err


# 10. After kill -9, siam explain left figures whose JSON was not written; the rerun
# wrote p000-2.json/png beside them.
def test_a_run_killed_between_figure_and_json_is_finished_by_the_rerun(photos, tiny_models,
                                                                        tmp_path):
    script = f"""
import sys
from siam_keras.runtime import atomic
real = atomic.write_json
def killed(path, *args, **kwargs):
    if str(path).endswith("p001.json"):
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, *args, **kwargs)
atomic.write_json = killed
import siam_keras.app.image_files as files
files.write_json = killed
from siam_keras.cli import main
main(["explain", "--model", {str(tiny_models[0])!r}, {str(photos)!r}, "--out",
      {str(tmp_path / 'out')!r}])
"""
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert killed.returncode == -9
    left = {p.name for p in (tmp_path / "out").iterdir()}
    assert "p001.png" in left and "p001.json" not in left  # the orphan figure
    assert main(["explain", "--model", str(tiny_models[0]), str(photos), "--out",
                 str(tmp_path / "out")]) == 0
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"p000.json", "p001.json", "p002.json", "p001.png"} <= names
    assert not any("-2" in name for name in names), names


# 7. Two siam-train on one --out: the second resumed the first's run and deleted its
# checkpoint. Now one command at a time, whatever it is.
def test_a_second_command_on_a_held_folder_is_refused_naming_the_holder(photos, tiny_models,
                                                                        tmp_path, capsys):
    from siam_keras.runtime.run_lock import RunLock, RunLockedError
    from training.cli import main as train

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from siam_keras.runtime.run_lock import RunLock\n"
        f"with RunLock({str(tmp_path / 'run')!r}, 'siam-train'):\n"
        "    print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert train(["--config", "demo", "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        assert f"being written by siam-train (PID {holder.pid}" in err
        assert main(["explain", "--model", str(tiny_models[0]), str(photos), "--out",
                     str(tmp_path / "run")]) == 2
        assert f"PID {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path / "run", "test"):  # a dead holder's lock is simply taken over
        with pytest.raises(RunLockedError, match="being written by test"):
            RunLock(tmp_path / "run", "other").__enter__()


def test_a_refused_command_leaves_no_folder_behind(tmp_path):
    from siam_keras.runtime.run_lock import RunLock

    with pytest.raises(ValueError):
        with RunLock(tmp_path / "new", "test"):
            raise ValueError("refused before writing anything")
    assert not (tmp_path / "new").exists()


# 11. A photo named like a formula put it into the --table CSV; control characters in a
# name went raw into the log.
def test_formula_names_are_inert_in_tables_and_escapes_in_logs(tiny_scenes, tiny_models,
                                                               tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["=cmd|' -C calc'!A0.png", "@sum(1+1).png", "-2+3.png"]
    for i, name in enumerate(names):
        Image.fromarray(tiny_scenes["image"][i]).save(folder / name)
    (folder / "x\x1b[2J.png").write_bytes(b"not an image")
    monkeypatch.chdir(folder)  # the names as given: the table's cells start with them
    code = main(["explain", "--model", str(tiny_models[0]), "--out", str(tmp_path / "out"),
                 "--figures", "none", "--table", str(tmp_path / "t.csv"), "--", *names,
                 "x\x1b[2J.png"])
    assert code == 1
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as file:
        images = [row["image"] for row in csv.DictReader(file)]
    assert sorted(images) == sorted("'" + name for name in names)
    captured = capsys.readouterr()
    assert "\x1b" not in captured.err + captured.out and "x\\x1b[2J.png" in captured.err


# 1. siam-export removed a web/ folder it did not write.
def test_siam_export_never_removes_or_replaces_a_folder_it_did_not_write(tiny_models, tmp_path,
                                                                         capsys):
    from export.cli import main as export

    out = tmp_path / "exp"
    (out / "web").mkdir(parents=True)
    (out / "web" / "index.html").write_text("<h1>my site</h1>")
    code = export(["--model", str(tiny_models[0]), "--out", str(out), "--tflite", "float32",
                   "--holdout-images", "4", "--latency-runs", "1", "--test-vectors", "1"])
    assert code == 0
    assert (out / "web" / "index.html").read_text() == "<h1>my site</h1>"
    printed = capsys.readouterr().out
    assert "Left" in printed
    # 11. An export without int8 suggested siam-edge explain --model .../model_int8.tflite.
    assert "model_float32.tflite IMAGES" in printed and "model_int8" not in printed
    assert export(["--model", str(tiny_models[0]), "--out", str(out), "--tflite", "float32",
                   "--web", "--overwrite"]) == 2
    assert "not a page siam-export wrote" in capsys.readouterr().err
    assert (out / "web" / "index.html").read_text() == "<h1>my site</h1>"
    (out / "tflite" / "siam_model.json").unlink()  # now a folder of someone else's
    assert export(["--model", str(tiny_models[0]), "--out", str(out), "--tflite", "float32",
                   "--overwrite"]) == 2
    assert "is not an export's" in capsys.readouterr().err


def _full_disk(tmp_path, size):
    """A tmpfs of `size` at tmp_path/full (root only; skipped elsewhere)."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode()[:200]}")
    return folder


# 11. A full disk segfaulted siam-train (rc 139) and gave siam-export a traceback.
def test_a_full_disk_is_one_line_naming_the_file_and_never_a_crash(tmp_path):
    folder = _full_disk(tmp_path, "3m")
    try:
        small = ["--keep-unhealthy", "--set", "data.image_size=32",
                 "data.synthetic_scenes.num_train=64", "data.synthetic_scenes.num_validation=16",
                 "data.synthetic_scenes.num_test=16", "data.synthetic_scenes.truth_template_size=4",
                 "model.template_size=4", "train.epochs=3", "train.batch_size=16",
                 "train.min_steps_per_epoch=1", "train.lr_decay_epochs=[]", "baseline.epochs=1"]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        for margin in ("1.5", "0.0"):  # refused before writing; failed while writing
            script = ("import sys, training.checkpoints as c\n"
                      f"c.SPACE_MARGIN = {margin}\n"
                      "from training.cli import main\nsys.exit(main(sys.argv[1:]))")
            done = subprocess.run([sys.executable, "-c", script, "--config", "demo", "--out",
                                   str(folder / f"run{margin}"), *small], capture_output=True,
                                  text=True, timeout=600, env=env)
            assert done.returncode == 2, done.stderr[-2000:]
            lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
            assert len(lines) == 1 and ".weights.h5 cannot be written" in lines[0]
            assert "Traceback" not in done.stderr.split(lines[0])[1]
            state = folder / f"run{margin}" / "checkpoints" / "state.json"
            assert json.loads(state.read_text())["epoch"] >= 1  # what was complete is kept
            for run in folder.iterdir():
                subprocess.run(["rm", "-rf", str(run)])
    finally:
        subprocess.run(["umount", str(folder)])


# 11. `siam evaluate` with a config whose output kinds are not the model's.
def test_evaluate_names_an_output_whose_kind_is_not_the_models(tiny_models, tmp_path, capsys):
    (tmp_path / "m.csv").write_text("image,scenicness\na.png,forest\n")
    (tmp_path / "config.toml").write_text(
        '[data]\ndataset = "manifest"\nimage_size = 32\n[data.manifest]\nfiles = ["m.csv"]\n'
        'attribute_columns = ["sky"]\n[data.manifest.outputs]\nscenicness = "classification"\n')
    code = main(["evaluate", "--model", str(tiny_models[0]), "--config",
                 str(tmp_path / "config.toml"), "--split", "test", "--out",
                 str(tmp_path / "e.json")])
    assert code == 2
    assert "makes 'scenicness' a classification output, but the model's 'scenicness' is a " \
           "regression output" in capsys.readouterr().err


def test_lock_files_name_their_holder(tmp_path):
    from siam_keras.runtime.run_lock import RunLock

    with RunLock(tmp_path, "siam explain"):
        holder = json.loads((tmp_path / ".siam.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["command"] == "siam explain"
        assert time.strptime(holder["since"], "%Y-%m-%d %H:%M:%S")


def test_out_may_not_be_the_folder_of_an_input_photo(photos, tiny_models, capsys):
    """`siam explain photos/cat.jpg --out photos` wrote cat.json, cat.png and summary.json
    among the photos (only a folder given as input was refused)."""
    before = sorted(p.name for p in photos.iterdir())
    code = main(["explain", "--model", str(tiny_models[0]), str(photos / "p000.png"), "--out",
                 str(photos)])
    assert code == 2 and "is an input folder (it holds p000.png)" in capsys.readouterr().err
    assert sorted(p.name for p in photos.iterdir()) == before
