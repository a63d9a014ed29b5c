"""Peak memory of a training run, from the backend Keras runs on (`benchmarks.gpu`).

On a GPU: the allocator's peak, TensorFlow's `get_memory_info` (reset by `reset`) or
JAX's `memory_stats()["peak_bytes_in_use"]` (since the process started). On a CPU:
the process' peak resident set size (`resource.getrusage`, since it started). Only
the backend's own module is imported (no TensorFlow under JAX).
"""

import resource
import sys

import keras


class Memory:
    """The first accelerator of Keras' backend, or the CPU.

    Attributes:
        device: what runs the steps, in words (e.g. "NVIDIA H100 80GB HBM3", "CPU").
    """

    def __init__(self):
        self.backend = keras.backend.backend()
        self._gpu = None
        if self.backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                self._gpu = "GPU:0"
                details = tf.config.experimental.get_device_details(gpus[0])
                self.device = details.get("device_name", "GPU")
        elif self.backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                self._gpu = device
                self.device = device.device_kind
        else:
            raise ValueError(f"benchmarks.gpu runs on Keras' tensorflow or jax backend. "
                             f"Received: backend={self.backend!r}")
        if self._gpu is None:
            self.device = "CPU"

    @property
    def source(self):
        """What `peak` measures, in words."""
        if self._gpu is None:
            return "CPU: the process' peak RSS"
        if self.backend == "tensorflow":
            return "GPU: TensorFlow allocator's peak (get_memory_info)"
        return "GPU: XLA allocator's peak_bytes_in_use (memory_stats)"

    def reset(self):
        """Starts a new peak where the backend allows it (TensorFlow on a GPU)."""
        if self._gpu is not None and self.backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.reset_memory_stats(self._gpu)

    def peak(self):
        """(bytes, source): the peak so far and what it measures."""
        if self._gpu is None:
            kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return kilobytes * (1 if sys.platform == "darwin" else 1024), self.source
        if self.backend == "tensorflow":
            import tensorflow as tf

            return int(tf.config.experimental.get_memory_info(self._gpu)["peak"]), self.source
        stats = self._gpu.memory_stats() or {}
        return int(stats.get("peak_bytes_in_use", 0)), self.source
