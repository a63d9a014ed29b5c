"""`EdgeWheelTarget`: `edge/siam_keras_edge-<version>-py3-none-any.whl`, the edge runtime."""

import zipfile

import siam_keras
from export.edge_wheel import DISTRIBUTION, wheel_name, write_edge_wheel
from export.targets.base import ExportTarget
from export.targets.tflite import TFLITE

EDGE = "edge"


class EdgeWheelTarget(ExportTarget):
    """`edge/`: a wheel of the edge runtime (`siam-edge`: NumPy, Pillow and LiteRT, no
    TensorFlow), to `pip install` on a device beside a `.tflite` model
    (`export.edge_wheel`). Written in place, atomically."""

    name = "edge_wheel"
    description = "The edge runtime"
    checked_by = ("read back: every entry of the zip whole, RECORD and METADATA in it "
                  "(tests install it and check that it imports nothing else)")

    def outputs(self, context):
        return (f"{EDGE}/{wheel_name()}",)

    def check(self, context):
        """Refuses an `edge` that is no folder (the wheel goes in it)."""
        folder = context.out / EDGE
        if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
            raise FileExistsError(f"{folder} is a file, not a folder: the edge runtime's wheel "
                                  "goes in it. Move it, or choose another --out.")

    def write(self, context):
        wheel = write_edge_wheel(context.out / EDGE)
        variants = context.config.variants
        suggested = "int8" if "int8" in variants else variants[0]
        context.log(f"      {wheel}: pip install it on a device, then siam-edge explain --model "
                    f"{context.out / TFLITE / f'model_{suggested}.tflite'} IMAGES --out DIR")

    def verify(self, context):
        super().verify(context)
        path = context.path(self.outputs(context)[0])
        with zipfile.ZipFile(path) as wheel:
            names = set(wheel.namelist())
            broken = wheel.testzip()
        info = f"{DISTRIBUTION}-{siam_keras.__version__}.dist-info"
        if broken or not {f"{info}/RECORD", f"{info}/METADATA"} <= names:
            raise RuntimeError(f"{path} is no whole wheel (entry {broken or 'RECORD'})")
