"""The export targets (`ExportTarget`), in the order an export writes them: `TARGETS`.

A new target is one subclass of `ExportTarget`, added to `TARGETS` after the targets it
`needs`; `export.run` loops over them and knows none by name.
"""

from export.targets.base import ExportTarget
from export.targets.context import ExportContext
from export.targets.edge_wheel import EdgeWheelTarget
from export.targets.saved_model import SavedModelTarget
from export.targets.test_vectors import TestVectorsTarget
from export.targets.tflite import TFLiteTarget
from export.targets.web_page import WebPageTarget

#: {name: target class}, in the order an export checks, writes and numbers them.
TARGETS = {target.name: target for target in (SavedModelTarget, TFLiteTarget, TestVectorsTarget,
                                              EdgeWheelTarget, WebPageTarget)}

__all__ = ["TARGETS", "ExportContext", "ExportTarget", "targets_for"]


def targets_for(config):
    """(configured, others): instances of the `TARGETS` an `ExportConfig` asks for
    (`ExportTarget.wanted`) and of the rest, each in `TARGETS` order.

    Raises:
        ValueError: a configured target needs one that is not configured before it.
    """
    configured, others = [], []
    for target in TARGETS.values():
        (configured if target.wanted(config) else others).append(target())
    for number, target in enumerate(configured):
        before = {earlier.name for earlier in configured[:number]}
        missing = [name for name in target.needs if name not in before]
        if missing:
            raise ValueError(f"The export target {target.name} needs {', '.join(missing)} "
                             "before it, and the configuration leaves it out")
    return configured, others
