import csv

import pytest

pytestmark = pytest.mark.slow


def test_the_small_data_table_runs_the_minimal_config_on_a_written_manifest(tmp_path, capsys):
    from benchmarks import small_data

    rows = small_data.main(["--sizes", "24", "--image-size", "32", "--out", str(tmp_path),
                            "--set", "train.epochs=1", "train.min_steps_per_epoch=2",
                            "baseline.epochs=1"])
    assert rows[0] == small_data.HEADER and len(rows) == 2
    size, *numbers = rows[1]
    assert size == 24 and all(isinstance(value, (str, int)) for value in numbers)
    with open(tmp_path / "photos_24" / "photos.csv", newline="") as file:
        splits = [row["split"] for row in csv.DictReader(file)]
    assert splits.count("train") == 24 and splits.count("test") == 200
    config = (tmp_path / "photos_24" / "config.toml").read_text()
    assert "[model]" not in config and "[train]" not in config  # the three [data] tables only
    printed = capsys.readouterr().out
    assert "CPU:" in printed and "| train photos | SIAM tau |" in printed


def test_the_paper_numerics_table_shows_pytorchs_gradients_and_adam():
    from benchmarks import paper_numerics

    rows, _ = paper_numerics.adam_rows()
    assert rows[-1][0].startswith("PyTorchAdam") and rows[-1][1] == "0.0%"
    assert float(rows[1][1].rstrip("%")) > 10  # Keras' default epsilon moves many entries
    for _, pytorch, clipped, ours in paper_numerics.bce_rows()[1:4]:
        assert float(pytorch) == pytest.approx(float(ours), rel=1e-3) and float(clipped) == 0
