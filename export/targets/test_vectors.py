"""`TestVectorsTarget`: `tflite/test_vectors/`, what any runtime checks itself against."""

from export.targets.base import ExportTarget
from export.targets.tflite import TFLITE
from siam_keras.edge import test_vectors as vectors


class TestVectorsTarget(ExportTarget):
    """`tflite/test_vectors/`: the first held-out images as PNG and, per TFLite variant,
    the tensors the Python edge runtime gives on them (`export.test_vectors`).

    Its own target, though it writes inside `tflite/`: it reads the models and the sidecar
    the TFLite target wrote (and is staged with them, so `tflite/` takes its name whole,
    vectors included), but it is a separate product with its own format and readers
    (`siam-edge check`, the web page's `?check`), and an export could leave it out.
    """

    __test__ = False  # a class named Test* that pytest must not collect

    name = "test_vectors"
    description = "Test vectors: held-out images and every variant's expected tensors"
    checked_by = ("read back and validated against the test vector schema "
                  "(siam_keras.edge.test_vectors.load), one entry per TFLite variant")
    needs = ("tflite",)

    def outputs(self, context):
        return (f"{TFLITE}/{vectors.FOLDER}/",)

    def check(self, context):
        """Nothing of its own to refuse: it writes inside `tflite/`, whose replacement the
        TFLite target's `check` already allows or refuses (--overwrite)."""

    def write(self, context):
        from export.test_vectors import write_test_vectors

        config = context.config
        written = write_test_vectors(context.path(TFLITE), context.tflite_files, context.sidecar,
                                     context.holdout, config.holdout, config.test_vectors)
        context.log(f"      test vectors: {min(len(context.holdout), config.test_vectors)} "
                    f"images, every variant ({TFLITE}/{written.name}/)")

    def verify(self, context):
        super().verify(context)
        data = vectors.load(context.path(self.outputs(context)[0]))
        if set(data["variants"]) != set(context.tflite_files):
            raise RuntimeError(f"The test vectors hold {sorted(data['variants'])}, not the "
                               f"variants written ({sorted(context.tflite_files)})")
