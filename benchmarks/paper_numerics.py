"""The authors' numerics beside ours: Adam's epsilon and the attribute loss's gradient.

Measured on the paper's head (`SIAMLayer`: 33 attributes, 2 templates of 15 x 15, a
15 x 15 x 2048 feature grid, the two ScenicOrNot outputs) with random features and
labels under the authors' loss weighting (which scales the output and template terms
to 0.1 and 0.001 of the attribute loss, so template gradients are small), one step of
each optimizer from the same weights and gradients:

- the share of template entries whose first Adam step (learning rate 1e-3) differs from
  `torch.optim.Adam`'s (eps 1e-8, epsilon after bias correction;
  `training.optimizers.PyTorchAdam`) by more than 1e-4, for Keras' Adam at eps 1e-7 (its default) and
  1e-8, and for `PyTorchAdam` itself (0 up to rounding);
- the attribute loss's gradient d/ds BCE(tanh(s), y) at a nearly dead and a saturated
  score, with PyTorch's `BCELoss` formula, the probability clip at [1e-6, 1 - 1e-6] of
  siam-keras 0.2, and `training.losses.AttributeLoss`.

Usage (from the repository root):
    python -m benchmarks.paper_numerics
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Template entries whose first step differs by more than this are counted.
STEP_DIFFERENCE = 1e-4


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows)


def template_gradients(seed=0, batch=10):
    """(templates before, their gradients) of the paper's head on random features."""
    import keras
    import numpy as np

    from siam_keras import vocabulary
    from siam_keras.explanations.gradients import value_and_gradients
    from siam_keras.layers import SIAMLayer
    from training.losses import paper_weighted_loss, siam_losses

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    head = SIAMLayer(33, template_size=15, border_size=2)
    features = rng.gamma(1.0, 0.5, (batch, 15, 15, 2048)).astype("float32")
    head(features)
    targets = {vocabulary.SCENICNESS: rng.uniform(1, 10, batch).astype("float32"),
               vocabulary.SCENICNESS_VARIANCE: rng.uniform(0, 5, batch).astype("float32"),
               vocabulary.ATTRIBUTE_SCORES: rng.choice([0, 1 / 3, 2 / 3, 1], (batch, 33))
               .astype("float32")}
    losses = siam_losses(vocabulary.PAPER_OUTPUTS)
    templates = [head.templates[name] for name in vocabulary.PAPER_OUTPUTS]

    def loss(*_):  # the authors' weighting: every term rescaled to the attribute loss
        outputs = head(features)
        attribute = losses[vocabulary.ATTRIBUTE_SCORES](targets[vocabulary.ATTRIBUTE_SCORES],
                                                        outputs[vocabulary.ATTRIBUTE_SCORES])
        output = sum(losses[key](targets[key], outputs[key]) for key in vocabulary.PAPER_OUTPUTS)
        l1 = sum(keras.ops.sum(keras.ops.abs(t)) for t in templates)
        return paper_weighted_loss(attribute, output, l1)

    _, gradients = value_and_gradients(loss, templates)
    return ([keras.ops.convert_to_numpy(t) for t in templates],
            [keras.ops.convert_to_numpy(g) for g in gradients])


def first_steps(starts, gradients, optimizer):
    """The first step of `optimizer` on each (start, gradient)."""
    import keras

    variables = [keras.Variable(start) for start in starts]
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), v)
                               for g, v in zip(gradients, variables)])
    return [keras.ops.convert_to_numpy(v) - s for v, s in zip(variables, starts)]


def adam_rows():
    import keras
    import numpy as np

    from training.optimizers import PyTorchAdam

    starts, gradients = template_gradients()
    reference = first_steps(starts, gradients, PyTorchAdam(1e-3, epsilon=1e-8))
    flat = np.concatenate([np.abs(g).ravel() for g in gradients])
    rows = [["optimizer (first step)", f"template entries off by > {STEP_DIFFERENCE:g}",
             "largest difference"]]
    for name, optimizer in (("Keras Adam, eps 1e-7 (default)", keras.optimizers.Adam(1e-3)),
                            ("Keras Adam, eps 1e-8", keras.optimizers.Adam(1e-3, epsilon=1e-8)),
                            ("PyTorchAdam, eps 1e-8", PyTorchAdam(1e-3, epsilon=1e-8))):
        steps = first_steps(starts, gradients, optimizer)
        difference = np.concatenate([np.abs(a - b).ravel() for a, b in zip(steps, reference)])
        share = float((difference > STEP_DIFFERENCE).mean())
        rows.append([name, f"{share:.1%}", f"{difference.max():.3g} (lr 1e-3)"])
    note = (f"template gradients: median |g| {np.median(flat):.2g}, 90th percentile "
            f"{np.quantile(flat, 0.9):.2g}")
    return rows, note


def bce_rows():
    import numpy as np

    from siam_keras.explanations.gradients import value_and_gradients
    from training.losses import AttributeLoss

    def pytorch(s, y):
        p = np.tanh(s)
        return (p - y) / max(p * (1 - p), 1e-12) * (1 - p * p)

    def clipped(s, y):
        p = np.tanh(s)
        if not 1e-6 < p < 1 - 1e-6:
            return 0.0
        return (p - y) / (p * (1 - p)) * (1 - p * p)

    rows = [["score, label", "PyTorch BCELoss", "clip [1e-6, 1-1e-6] (0.2)", "AttributeLoss"]]
    for s, y in ((1e-8, 2 / 3), (1e-8, 1.0), (8.0, 2 / 3), (8.0, 1.0), (20.0, 0.0)):
        _, (gradient,) = value_and_gradients(
            lambda v: AttributeLoss().call(np.array([[y]], "float32"), v)[0],
            [np.array([[s]], "float32")])
        rows.append([f"{s:g}, {y:.3g}", f"{pytorch(np.float32(s), y):.4g}",
                     f"{clipped(np.float64(s), y):.4g}",
                     f"{float(np.asarray(gradient)[0, 0]):.4g}"])
    return rows


def main(argv=None):
    from benchmarks.machine import cpu_description

    print(cpu_description())
    rows, note = adam_rows()
    print("\nAdam's first step on the paper head's templates, against torch.optim.Adam (eps "
          f"1e-8); {note}\n" + _table(rows))
    print("\nd/ds of BCE(tanh(s), y), float32 (PyTorch: its backward's formula)\n"
          + _table(bce_rows()))


if __name__ == "__main__":
    main()
