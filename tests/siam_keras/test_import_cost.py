import subprocess
import sys


def test_data_metrics_and_cli_do_not_import_tensorflow():
    code = (
        "import sys, siam_keras, siam_keras.data, siam_keras.metrics, siam_keras.cli, siam_keras.vocabulary;"
        "heavy = [m for m in ('tensorflow', 'keras', 'tensorflow_datasets') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
