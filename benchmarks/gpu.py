"""Training on a GPU: throughput, step-time spread, peak memory and loss scaling, per policy.

Runs on the Keras backend that KERAS_BACKEND names (tensorflow or jax). On JAX it
needs only Keras, NumPy and this repository: TensorFlow is never imported.

Two models, built by `siam-train`'s own code (`training.builders`,
`training.optimizers`) from its configs, with random weights (no download) and random
data generated here:
- paper: `training/configs/sun_son_resnet50.toml`, ResNet-50 at 450 px, 33
  attributes; every step is one two-source batch of 10 SUN images (attribute labels
  only) + 10 ScenicOrNot images (scenicness and its variance only), the other
  task's targets masked with sample weight 0, the paper's loss weighting and PyTorch's
  Adam, as the config says;
- demo: `training/configs/demo.toml`, the small CNN at 64 px, batch 32, all labels.

Each under float32, mixed_float16 (the optimizer in a `LossScaleOptimizer`, as training
wraps it: its dynamic scale is read after every step, and the steps it skipped,
whose gradients were not finite, are counted) and mixed_bfloat16. A step is one
`train_on_batch` on a batch already on the device (no input pipeline); after
`--warmup-steps` (compilation, the loss scale settling) `--steps` are timed.

Peak memory: on a GPU the backend allocator's peak (TensorFlow's
`get_memory_info`, JAX's `memory_stats`), on a CPU the process' peak RSS. Each
configuration runs in a fresh process, so each peak is its own (`--in-process`
runs them all here: the peak is then the process' so far).

Usage: KERAS_BACKEND=jax python -m benchmarks.gpu [--models paper demo] [--steps 50]
       python -m benchmarks.gpu --smoke     (tiny sizes, 2 steps, the paper's model in
                                             this process: a check that it runs)
       benchmarks/gpu_machine.sh            (on a machine with JAX and no TensorFlow)
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"paper": ROOT / "training/configs/sun_son_resnet50.toml",
           "demo": ROOT / "training/configs/demo.toml"}
POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
#: `--smoke`'s sizes: either model at 32 px on the small CNN, 2 + 2 or 4 images a step.
SMOKE = {
    "paper": ["model.backbone=small_cnn", "data.image_size=32", "model.template_size=8",
              "train.batch_size=2"],
    "demo": ["data.image_size=32", "train.batch_size=4"],
}
RESULT = "RESULT "
#: A configuration still running after this long is reported as failed, and the rest run.
CONFIGURATION_TIMEOUT_S = 1800
#: Steps an epoch, for the learning-rate schedule (the benchmark stays in the first epoch).
STEPS_PER_EPOCH = 1000


def config_for(model_name, policy, smoke):
    """The model's training config as `siam-train` reads it, with random backbone weights
    (nothing downloaded), `train.mixed_precision` as `policy` asks, and `--smoke`'s sizes.
    (`training.config` imports neither TensorFlow nor Pillow.)"""
    from training.config import load_config

    overrides = ["model.backbone_weights=''",
                 f"train.mixed_precision={str(policy == 'mixed_float16').lower()}"]
    return load_config(CONFIGS[model_name], overrides + (SMOKE[model_name] if smoke else []))


def build(model_name, policy, smoke):
    """(trained model, images, targets, sample weights, description) of one configuration,
    built by what `siam-train` builds it with (`training.builders`: the model, the class it
    trains as and its losses; `training.optimizers.optimizer_for`: Adam or PyTorch's Adam
    on the schedule, loss-scaled under float16). mixed_bfloat16, which no config sets, is
    Keras' global policy while the model is built."""
    import keras
    import numpy as np

    from siam_keras import vocabulary
    from siam_keras.data.scene_rendering import CONCEPTS
    from siam_keras.models.dtype_policy import rewrapped
    from training.builders import loss_setup, siam_model_from_config, trained_as
    from training.optimizers import optimizer_for
    from training.replicas import ReplicaSafeModel

    config = config_for(model_name, policy, smoke)
    paper = model_name == "paper"
    attributes = list(vocabulary.PAPER_ATTRIBUTES if paper else CONCEPTS)
    outputs = list(vocabulary.PAPER_OUTPUTS)
    default = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if policy == "mixed_bfloat16" else default)
    try:
        model = siam_model_from_config(config, attributes, outputs)
    finally:
        keras.config.set_dtype_policy(default)
    trained = rewrapped(model, trained_as(config, model, config.train.freeze_backbone)
                        or ReplicaSafeModel)
    losses, loss_weights = loss_setup(config, outputs)
    trained.compile(optimizer=optimizer_for(model, config.train, STEPS_PER_EPOCH),
                    loss=losses, loss_weights=loss_weights)

    # The paper's step: one batch of each source; the demo's: one batch, all labelled.
    batch, size = config.train.batch_size, config.data.image_size
    rows = 2 * batch if paper else batch
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (rows, size, size, 3)).astype("float32")
    key = vocabulary.ATTRIBUTE_SCORES
    targets = {key: (rng.integers(0, 4, (rows, len(attributes))) / 3).astype("float32"),
               **{name: rng.uniform(1, 10, rows).astype("float32") for name in outputs}}
    sun = np.r_[np.ones(batch), np.zeros(rows - batch)] if paper else np.ones(rows)
    son = 1 - sun if paper else np.ones(rows)
    weights = {key: sun.astype("float32"), **{name: son.astype("float32") for name in outputs}}
    described = (f"{config.model.backbone} {size} px, "
                 + (f"{batch} + {batch} images" if paper else f"{batch} images"))
    to_device = keras.ops.convert_to_tensor
    return (trained, to_device(images), {k: to_device(v) for k, v in targets.items()},
            {k: to_device(v) for k, v in weights.items()}, described)


def train_steps(trained, images, targets, weights, count):
    """Runs `count` `train_on_batch` steps: (seconds, loss scales, skipped) per step.

    The loss scales are the `LossScaleOptimizer`'s after each step (none without
    one); a step is skipped when the optimizer's applied-step count did not grow
    (its gradients were not finite, and the scale was halved instead).
    """
    import keras

    optimizer = trained.optimizer
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    seconds, scales, skipped = [], [], []
    applied = int(keras.ops.convert_to_numpy(optimizer.iterations))
    for _ in range(count):
        start = time.perf_counter()
        trained.train_on_batch(images, targets, sample_weight=weights)  # returns floats: synced
        seconds.append(time.perf_counter() - start)
        iterations = int(keras.ops.convert_to_numpy(optimizer.iterations))
        skipped.append(iterations == applied)
        applied = iterations
        if scaled:
            scales.append(float(keras.ops.convert_to_numpy(optimizer.dynamic_scale)))
    return seconds, scales, skipped


def run_configuration(model_name, policy, warmup_steps, steps, smoke):
    """Builds, trains and measures one (model, policy): a JSON-ready dict."""
    import keras
    import numpy as np

    from benchmarks.gpu_memory import Memory

    memory = Memory()  # (no keras.utils.set_random_seed: it imports TensorFlow where installed)
    memory.reset()
    trained, images, targets, weights, described = build(model_name, policy, smoke)
    seconds, scales, skipped = train_steps(trained, images, targets, weights,
                                           warmup_steps + steps)
    timed = np.asarray(seconds[warmup_steps:])
    p10, median, p90 = (float(np.percentile(timed, q)) for q in (10, 50, 90))
    images_per_step = int(images.shape[0])
    peak, peak_source = memory.peak()
    initial_scale = getattr(trained.optimizer, "initial_scale", None)
    return {
        "model": model_name, "policy": policy, "setup": described,
        "images_per_step": images_per_step, "warmup_steps": warmup_steps, "steps": steps,
        "step_seconds": [float(s) for s in seconds],
        "median_s": median, "p10_s": p10, "p90_s": p90,
        "images_per_s": images_per_step / median,
        "peak_bytes": peak, "peak_source": peak_source, "device": memory.device,
        "backend": keras.backend.backend(), "keras": keras.__version__,
        "loss_scale": {"initial": float(initial_scale), "by_step": scales} if scales else None,
        "skipped_warmup": int(sum(skipped[:warmup_steps])),
        "skipped_timed": int(sum(skipped[warmup_steps:])),
    }


def run_isolated(model_name, policy, args):
    """One configuration in a fresh Python process (its own peak memory)."""
    command = [sys.executable, "-m", "benchmarks.gpu", "--only", f"{model_name}:{policy}",
               "--warmup-steps", str(args.warmup_steps), "--steps", str(args.steps)]
    if args.smoke:
        command.append("--smoke")
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                timeout=CONFIGURATION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{model_name} under {policy} did not finish in "
                           f"{CONFIGURATION_TIMEOUT_S} s") from None
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT)]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"{model_name} under {policy} failed (exit {result.returncode}):\n"
                           f"{result.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT):])


def _runs(values):
    """'32768 x3, 16384 x2': consecutive equal values counted."""
    parts, previous, count = [], None, 0
    for value in [*values, None]:
        if value == previous:
            count += 1
            continue
        if previous is not None:
            parts.append(f"{previous:g}" + (f" x{count}" if count > 1 else ""))
        previous, count = value, 1
    return ", ".join(parts)


def table(results):
    """The results as text: one row per configuration, then the loss scale's course."""
    header = ("model", "policy", "setup", "images/s", "step ms median", "p10", "p90",
              "peak memory", "skipped steps (warm-up / timed)")
    rows = [header]
    for r in results:
        rows.append((r["model"], r["policy"], r["setup"], f"{r['images_per_s']:.1f}",
                     f"{1000 * r['median_s']:.1f}", f"{1000 * r['p10_s']:.1f}",
                     f"{1000 * r['p90_s']:.1f}", f"{r['peak_bytes'] / 2**20:,.0f} MiB",
                     f"{r['skipped_warmup']} / {r['skipped_timed']}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    first = results[0]
    lines.insert(0, f"backend {first['backend']} (keras {first['keras']}) on {first['device']}; "
                    f"{first['warmup_steps']} warm-up + {first['steps']} timed steps; "
                    f"peak memory: {first['peak_source']}")
    for r in results:
        if r["loss_scale"]:
            course = r["loss_scale"]["by_step"]
            lines.append(f"{r['model']} mixed_float16 loss scale: initial "
                         f"{r['loss_scale']['initial']:g}; after each warm-up step "
                         f"{_runs(course[:r['warmup_steps']]) or '-'}; after each timed step "
                         f"{_runs(course[r['warmup_steps']:])}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(CONFIGS), default=None,
                        help="which models (default: both; the paper's with --smoke)")
    parser.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES),
                        help="which dtype policies (default: all three)")
    parser.add_argument("--warmup-steps", type=int, default=None,
                        help="untimed steps first (default: 10; 1 with --smoke)")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps (default: 50; 2 with --smoke)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes (small CNN, 32 px, 2 + 2 images), in this process, "
                             "the paper's model unless --models says otherwise: checks that "
                             "the benchmark runs, in seconds on a CPU")
    parser.add_argument("--in-process", action="store_true",
                        help="run every configuration in this process instead of one fresh "
                             "process each (peak memory is then the process' so far)")
    parser.add_argument("--only", metavar="MODEL:POLICY",
                        help="run one configuration and print its result as one JSON line "
                             "(what each fresh process runs)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    args.warmup_steps = args.warmup_steps if args.warmup_steps is not None else (
        1 if args.smoke else 10)
    args.steps = args.steps if args.steps is not None else (2 if args.smoke else 50)
    args.models = args.models or (["paper"] if args.smoke else list(CONFIGS))
    if args.warmup_steps < 0 or args.steps < 1:
        parser.error(f"--warmup-steps must be >= 0 and --steps >= 1. Received: "
                     f"{args.warmup_steps} and {args.steps}")
    if args.only:
        model_name, _, policy = args.only.partition(":")
        if model_name not in CONFIGS or policy not in POLICIES:
            parser.error(f"--only takes MODEL:POLICY, MODEL in {list(CONFIGS)}, POLICY in "
                         f"{list(POLICIES)}. Received: {args.only!r}")
        result = run_configuration(model_name, policy, args.warmup_steps, args.steps, args.smoke)
        print(RESULT + json.dumps(result))
        return 0
    in_process = args.in_process or args.smoke
    results, failures = [], []
    for model_name in args.models:
        for policy in args.policies:
            print(f"{model_name} under {policy} ...", file=sys.stderr, flush=True)
            if in_process:
                results.append(run_configuration(model_name, policy, args.warmup_steps,
                                                  args.steps, args.smoke))
                continue
            try:  # one that fails (out of memory, say) is reported, the others still run
                results.append(run_isolated(model_name, policy, args))
            except RuntimeError as error:
                print(error, file=sys.stderr, flush=True)
                failures.append(f"{model_name} under {policy}")
    if in_process:
        for result in results:
            result["peak_source"] += " (one process for all rows: its peak so far)"
    if results:
        print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if failures:
        print(f"{len(failures)} of {len(failures) + len(results)} configurations failed: "
              f"{', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
