import subprocess
import sys


def test_data_metrics_cli_and_runtimes_do_not_import_tensorflow():
    code = (
        "import sys, siam_keras, siam_keras.data, siam_keras.metrics, siam_keras.cli, siam_keras.vocabulary,"
        " siam_keras.explanations, siam_keras.app.image_files, siam_keras.runtime.sidecar, siam_keras.runtime.images,"
        " siam_keras.edge, siam_keras.edge.cli, siam_keras.edge.overlay, siam_keras.serving;"
        "heavy = [m for m in ('tensorflow', 'keras', 'tensorflow_datasets') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
