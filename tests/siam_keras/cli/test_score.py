import subprocess
import sys

import pytest

from siam_keras.cli import build_parser, main

WITHOUT_BEAM = r"""
import sys
sys.modules["apache_beam"] = None  # import apache_beam raises ImportError
from siam_keras.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_beam_pipeline_options_pass_through_and_other_commands_stay_strict():
    args = build_parser().parse_args(
        ["score", "--model", "m.keras", "--input", "x/*.jpg", "--output", "s.parquet", "--project",
         "p", "--region=europe-west1", "--runner", "DataflowRunner", "--temp_location", "gs://b/t"])
    assert args.runner == "DataflowRunner" and args.top_k == 8 and args.batch_size == 16
    assert args.pipeline_args == ["--project", "p", "--region=europe-west1", "--temp_location",
                                  "gs://b/t"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["explain", "x.jpg", "--model", "m", "--out", "o",
                                   "--project", "p"])


def test_wrong_arguments_are_named(tmp_path, capsys):
    common = ["score", "--model", str(tmp_path / "m.keras"), "--input", str(tmp_path / "*.jpg")]
    cases = [(["--output", "s.txt"], "--output must be a .csv or .parquet file. Received: s.txt"),
             (["--output", "s.csv", "--failures", "f.txt"],
              "--failures must be a .csv or .parquet file"),
             (["--output", "s.parquet", "--top-k", "0", "--batch-size", "-1"],
              "These must be positive integers. Received: --top-k=0, --batch-size=-1"),
             (["--output", "s.parquet", "--latitude-column", "lat"],
              "--latitude-column and --longitude-column go together")]
    for extra, message in cases:
        assert main(common + extra) == 2
        assert message in capsys.readouterr().err


def test_without_apache_beam_the_extra_is_named_and_the_cli_never_imports_it():
    result = subprocess.run([sys.executable, "-c", WITHOUT_BEAM, "score", "--model", "m.keras",
                             "--input", "x", "--output", "s.parquet"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "pip install 'siam-keras[beam]'" in result.stderr
    code = ("import sys, siam_keras.cli, siam_keras.scoring;"
            "from siam_keras.cli import build_parser;"
            "build_parser().parse_args(['score', '--model', 'm', '--input', 'i', '--output', 'o']);"
            "sys.exit(1 if 'apache_beam' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120, check=False).returncode == 0


def test_help_explains_the_runners(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = capsys.readouterr().out
    for word in ("DataflowRunner", "--temp_location", "--flink_master", "--spark_master_url",
                 "--failures", "--explanations", "siam explain --table"):
        assert word in text


@pytest.mark.parametrize("typo, expected", [("--top_k", "--top-k"), ("--failure", "--failures"),
                                            ("--batch_size", "--batch-size")])
def test_a_misspelt_option_of_ours_is_refused_not_passed_to_beam(typo, expected, capsys):
    from siam_keras.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "--model", "m.keras", "--input", "x", "--output",
                                   "s.parquet", typo, "3"])
    assert f"Expected: {expected}" in capsys.readouterr().err
    args = build_parser().parse_args(["score", "--model", "m.keras", "--input", "x", "--output",
                                      "s.parquet", "--project", "p", "--temp_location", "gs://t"])
    assert args.pipeline_args == ["--project", "p", "--temp_location", "gs://t"]
