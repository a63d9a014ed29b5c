"""`train.distribution`: one training job over several devices of one machine.

- `"mirrored"` (TensorFlow backend): `tf.distribute.MirroredStrategy` over the local
  GPUs, or `train.devices`. Each step splits the global batch into one equal slice per
  device, each device computes its slice's gradients, and they are summed; batch
  normalisation takes its statistics over the whole global batch, so with fully
  labelled data a step is the one-device step on the same batch, up to float rounding
  (`training.replicas` holds what Keras needs for it), and where rows lack a label the
  masked losses are means over the global batch's labelled rows (`MaskedMeanLoss`).
  Keras reads one batch before the first epoch under a strategy; the training order is
  set by `train.seed` alone (`training.datasets.TrainingBatches`), so that the epochs
  still see the batches of one device, in its order.
- `"data_parallel"` (JAX backend): `keras.distribution.DataParallel` over the devices
  JAX sees, or `train.devices`. JAX computes the step on the global batch, sharded over
  the devices: the same step as on one device.

- `"multi_host"` (JAX backend): `data_parallel` over the devices of every process of
  a job (`training.multi_host`), each process reading its own rows of each batch.

MultiWorkerMirroredStrategy (several machines on TensorFlow) is not offered: Keras 3's
`model.fit` fails under it (keras-team/keras#20585); use "multi_host" on JAX.

The models, their optimizers and the training data are built inside
`training_scope(train_config)`; the trained models are evaluated on one device, loaded
from their saved files (`evaluable`).
"""

import contextlib
import functools

import keras

from training import multi_host
from training.config_ranges import ConfigError
from training.replicas import num_replicas

#: {train.distribution: the Keras backend it runs on}.
BACKENDS = {"mirrored": "tensorflow", "data_parallel": "jax", "multi_host": "jax"}
_WHY = {
    "mirrored": "it is TensorFlow's tf.distribute.MirroredStrategy",
    "data_parallel": "keras.distribution works on the JAX backend only",
    "multi_host": "it is JAX's distributed runtime under keras.distribution",
}


def check_backend(train_config, backend=None):
    """Raises ConfigError (a ValueError) when `train.distribution` cannot run on the
    Keras backend (`backend`, default: the one Keras runs on), saying what to use."""
    backend = backend or keras.backend.backend()
    needed = BACKENDS.get(train_config.distribution)
    if needed is None or needed == backend:
        return
    instead = [name for name, runs_on in BACKENDS.items() if runs_on == backend]
    raise ConfigError(
        f"train.distribution = {train_config.distribution!r} needs Keras' {needed} backend; "
        f"Keras runs on {backend!r} here ({_WHY[train_config.distribution]}). Run with "
        f"KERAS_BACKEND={needed}"
        + (f", or set train.distribution = {instead[0]!r} for the {backend} backend"
           if instead else ", or set train.distribution = \"none\"") + ".")


def check_batch(train_config, num_devices):
    """The global batch must split into equal per-device batches (raises ValueError)."""
    if train_config.batch_size % num_devices:
        raise ValueError(
            f"train.batch_size must be a multiple of the {num_devices} devices of "
            f"train.distribution = {train_config.distribution!r}: it is the global batch, "
            f"split into equal per-device batches. Received: batch_size="
            f"{train_config.batch_size}. Use e.g. "
            f"{max(1, round(train_config.batch_size / num_devices)) * num_devices}.")


def distribution_devices(train_config):
    """The devices `train.distribution` trains on (names as TensorFlow or Keras gives
    them; [] for "none"), checked against the backend and the batch size.

    Raises:
        ValueError: the backend does not run that distribution, a device named in
            `train.devices` does not exist, or the batch does not split evenly.
    """
    check_backend(train_config)
    if keras.backend.backend() == "jax":
        _keep_tensorflow_off_the_gpus()
    if train_config.distribution == "mirrored":
        strategy = _mirrored_strategy(_tensorflow_devices(train_config.devices))
        names = [name.split("/device:")[-1] for name in strategy.extended.worker_devices]
    elif train_config.distribution in ("data_parallel", "multi_host"):
        if train_config.distribution == "multi_host":
            if train_config.devices:
                raise ValueError("train.devices is not for train.distribution = "
                                 "\"multi_host\": it trains on every device of every process "
                                 "(choose a process's devices with CUDA_VISIBLE_DEVICES). "
                                 f"Received: {list(train_config.devices)}")
            multi_host.initialize()  # from the environment, unless siam-train did it
        names = _keras_devices(train_config.devices)
    else:
        return []
    check_batch(train_config, len(names))
    return names


def describe(train_config, names):
    """The progress line that says where training runs."""
    per_device = train_config.batch_size // len(names)
    line = (f"Training on {len(names)} device(s) ({train_config.distribution}): "
            f"{', '.join(names)}; global batch {train_config.batch_size}, {per_device} per device"
            " (of each dataset, when several are mixed)")
    if train_config.distribution == "multi_host":
        line += f"; {multi_host.process_count()} processes (process 0 writes --out)"
    elif len(names) == 1:
        line += " (only one: list several in train.devices; see the README)"
    return line


@contextlib.contextmanager
def training_scope(train_config):
    """Build, compile and fit inside: `train.distribution`'s strategy (TensorFlow) or
    distribution (JAX) is current there; nothing changes for "none". The models built
    inside stay tied to it: evaluate their saved `.keras` files, loaded outside
    (`evaluable`).
    """
    if train_config.distribution == "mirrored":
        with _mirrored_strategy(_tensorflow_devices(train_config.devices)).scope():
            yield
    elif train_config.distribution in ("data_parallel", "multi_host"):
        devices = _keras_devices(train_config.devices)
        # Several processes: each reads its own rows of every global batch itself
        # (`training.datasets`), so Keras must not shard the datasets again.
        sharded = train_config.distribution == "multi_host"
        with keras.distribution.DataParallel(devices=devices,
                                             auto_shard_dataset=not sharded).scope():
            yield
    else:
        yield


def devices_in_use():
    """The devices a model built now trains on: the current TensorFlow strategy's
    replicas, or the current Keras distribution's devices (JAX); 1 without either."""
    if keras.backend.backend() == "tensorflow":
        return num_replicas()
    distribution = keras.distribution.distribution()
    return 1 if distribution is None else int(distribution.device_mesh.devices.size)


def evaluable(model, path, train_config):
    """`model`, or under a distribution the same model loaded from its saved `path`
    outside the scope, for one-device predictions (under a strategy Keras'
    `predict_on_batch` repeats its outputs once per replica, and a batch smaller than
    the number of devices fails)."""
    if train_config.distribution == "none":
        return model
    from siam_keras.saving import load_model

    return load_model(path)


@functools.cache
def _mirrored_strategy(devices):
    """One `MirroredStrategy` per set of devices and process: each new one numbers its
    collective operations from the start again, and a second one's would collide with
    the first's (synchronised batch normalisation then fails with "Shape mismatch in
    the collective instance")."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=None if devices is None else list(devices))


def _tensorflow_devices(requested):
    """`train.devices` checked against TensorFlow's logical devices, as a tuple (None:
    the default, all GPUs or else the CPU)."""
    import tensorflow as tf

    def key(name):  # "/gpu:0", "GPU:0", "/device:GPU:0", ... -> ("GPU", 0)
        try:
            spec = tf.DeviceSpec.from_string(name)
        except ValueError:
            return None
        return (spec.device_type or "").upper(), spec.device_index

    if not requested:
        return None
    available = {key(device.name): device.name for device in tf.config.list_logical_devices()}
    for name in requested:
        if key(name) not in available:
            raise ValueError(f"train.devices names {name!r}, which is not a device here. "
                             f"TensorFlow's devices: {', '.join(sorted(available.values()))}")
    return tuple(requested)


def _keep_tensorflow_off_the_gpus():
    """On the JAX backend TensorFlow only reads the data (tf.data): hide the GPUs from it,
    or it would reserve most of their memory beside JAX's. Must run before TensorFlow's
    first op; later, TensorFlow keeps what it has (and says so in its log)."""
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # already initialised: too late to change, harmless on CPU
        pass


def _keras_devices(requested):
    """`train.devices` checked against `keras.distribution.list_devices()` (all of them
    when none are requested)."""
    available = keras.distribution.list_devices()
    by_key = {name.lower(): name for name in available}  # "GPU:0", "/gpu:0" -> "gpu:0"
    requested = [by_key.get(name.lower().lstrip("/"), name) for name in requested]
    wrong = [name for name in requested if name not in available]
    if wrong:
        raise ValueError(f"train.devices names {wrong}, not devices here. JAX's devices: "
                         f"{', '.join(available)} (XLA_FLAGS=--xla_force_host_platform_device"
                         "_count=N splits the CPU into N devices)")
    return list(requested or available)
