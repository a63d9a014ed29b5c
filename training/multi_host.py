"""`train.distribution = "multi_host"`: one training job over several processes (hosts).

JAX backend only. Every process runs `siam-train` with the same config and data paths;
they meet through JAX's distributed runtime (`keras.distribution.initialize`, which
calls `jax.distributed.initialize`): from `siam-train`'s `--coordinator`,
`--num-processes` and `--process-id`, from Keras' environment variables
(`KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES`,
`KERAS_DISTRIBUTION_PROCESS_ID`), or detected by JAX itself (SLURM, Open MPI,
Kubernetes/JobSet, Cloud TPU). On CPUs they exchange gradients over Gloo.

Then `keras.distribution.DataParallel` runs over every process's devices: each step's
global batch (`train.batch_size`) is the one a single process would read, and each
process casts and augments only its rows of it (`local_slice`; with two datasets mixed,
its share of each), so the step, its masked losses and the batch-norm statistics are
those of the whole global batch. Each process holds the whole split in memory (it is
loaded before training). Process 0 writes `--out`; the others follow its run folder
(they resume where it resumes) in a scratch copy that is thrown away.
"""

_state = {"initialized": False}


def initialize(coordinator=None, num_processes=None, process_id=None):
    """Joins this process to the job (once; later calls do nothing). Arguments left None
    come from the environment, or JAX detects them (SLURM, MPI, Kubernetes, Cloud TPU).

    Raises:
        ValueError: the arguments do not describe a job (a process id out of range).
    """
    if _state["initialized"]:
        return
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"--num-processes must be at least 1. Received: --num-processes "
                         f"{num_processes}")
    if num_processes is not None and process_id is not None and not (
            0 <= process_id < num_processes):
        raise ValueError(f"--process-id must be between 0 and --num-processes - 1. Received: "
                         f"--process-id {process_id}, --num-processes {num_processes}")
    import jax
    import keras

    # Collectives between CPU processes (Gloo): gradients, batch statistics, barriers.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(coordinator, num_processes, process_id)
    _state["initialized"] = True


def process_index():
    """This process's index in the job (0 when not in a multi-process job)."""
    if not _state["initialized"]:
        return 0
    import jax

    return jax.process_index()


def process_count():
    """The processes of the job (1 when not in a multi-process job)."""
    if not _state["initialized"]:
        return 1
    import jax

    return jax.process_count()


def broadcast_flag(flag):
    """Process 0's `flag` (a bool), in every process: a barrier that also says whether
    process 0 got there as planned."""
    if process_count() == 1:
        return bool(flag)
    import numpy as np
    from jax.experimental import multihost_utils

    return bool(multihost_utils.broadcast_one_to_all(np.int32(bool(flag))))


def all_ok(flag):
    """Whether `flag` holds on every process: each process's flag, gathered. Every process
    calls it, also one that failed (with False), so that none waits for it forever."""
    if process_count() == 1:
        return bool(flag)
    import numpy as np
    from jax.experimental import multihost_utils

    return bool(np.all(multihost_utils.process_allgather(np.int32(bool(flag)))))


def local_slice(batch_size):
    """(start, stop) of this process's rows in each global batch of `batch_size`."""
    count, index = process_count(), process_index()
    if batch_size % count:
        raise ValueError(f"train.batch_size must be a multiple of the {count} processes of "
                         f"train.distribution = \"multi_host\". Received: {batch_size}")
    share = batch_size // count
    return index * share, (index + 1) * share


def _in_job():
    """Whether calls now run over several processes: a job, inside a distribution."""
    if process_count() == 1:
        return False
    import keras

    return keras.distribution.distribution() is not None


def global_batch(images):
    """This process's `images` as its rows of one global batch (a jax.Array over every
    process), for a direct `model(...)` call inside the job's distribution; unchanged
    outside a job. Every process passing the same images gives a batch of copies, whose
    batch statistics are those of the images."""
    if not _in_job():
        return images
    import jax
    import keras
    import numpy as np

    images = np.asarray(images)
    layout = keras.distribution.distribution().get_data_layout(images.shape)
    return jax.make_array_from_process_local_data(layout.backend_layout, images)


def local_rows(outputs):
    """The rows of `outputs` (a structure of global jax.Arrays) this process holds, as
    NumPy arrays; `outputs` converted to NumPy outside a job."""
    import keras
    import numpy as np

    if not _in_job():
        return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)

    def local(array):
        if array.is_fully_addressable:
            return np.asarray(array)
        if array.sharding.is_fully_replicated:
            return np.asarray(array.addressable_data(0))
        shards = sorted(array.addressable_shards, key=lambda s: s.index[0].start or 0)
        return np.concatenate([np.asarray(shard.data) for shard in shards])

    return keras.tree.map_structure(local, outputs)
