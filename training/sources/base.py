"""`DataSource`: what the training job needs of a dataset, whatever it is."""

#: Test images `plot_preview` draws, and validation images `preview_images` gives.
NUM_FIGURE_IMAGES = 4


class DataSource:
    """A dataset as the training job uses it: build -> fit -> evaluate -> write is
    written once (`training.run`), against this interface.

    Batches are `(images, targets, sample_weights)` as `model.fit` takes them: uint8
    pixels cast to float32, targets keyed by output name and `attribute_scores`, and a
    sample weight of 0 wherever a label is missing (so a sample adds nothing to that
    target's loss).

    Args:
        config: the training `Config`.
        log: progress printer.
    """

    def __init__(self, config, log=print):
        self.config, self.log = config, log

    #: Set by `prepare`: the attributes and the named outputs the models learn, and
    #: {output: OutputKind} of every output (`siam_keras.runtime.output_kinds`).
    attribute_names = ()
    output_names = ()
    output_kinds = {}

    def prepare(self):
        """Loads, generates or builds the data (logged as step 1 of the job)."""
        raise NotImplementedError

    def steps_per_epoch(self):
        """Training steps in an epoch: `train.steps_per_epoch` if set, else one pass over
        the (largest) training split, and at least `train.min_steps_per_epoch`, so that a
        small data set gets as many steps as a larger one (`epochs` and
        `lr_decay_epochs` count these epochs)."""
        train = self.config.train
        return train.steps_per_epoch or max(self.steps_per_pass(), train.min_steps_per_epoch)

    def steps_per_pass(self):
        """Training steps in one pass over the (largest) training split."""
        raise NotImplementedError

    def label_means(self):
        """{output: mean label on the training split}: the outputs' initial biases (for a
        classification output, the log of each class' frequency: `OutputKind.initial_bias`)."""
        raise NotImplementedError

    def training_data(self, with_attributes=True, with_outputs=True):
        """The `training.datasets.TrainingBatches` of the targets asked (augmented, in an
        order set by `train.seed`)."""
        raise NotImplementedError

    def validation_data(self, with_attributes=True, with_outputs=True):
        """Validation batches for the targets asked (neither augmented nor shuffled)."""
        raise NotImplementedError

    def preview_images(self):
        """A few validation images whose maps TensorBoard shows each epoch, or None."""
        return None

    def evaluate(self, model):
        """(metrics report, predictions) of `model` on the test split (a baseline model
        gets its outputs' metrics only)."""
        raise NotImplementedError

    def plot_preview(self, path, predictions):
        """Writes `attribute_maps.png`: test images beside the maps `predictions` holds."""
        raise NotImplementedError

    def description(self):
        """metrics.json's `dataset` entry: what was evaluated."""
        raise NotImplementedError


def label_means(labels, output_kinds):
    """`DataSource.label_means` of a training split's labels ({output: (N, ...) array}):
    each kind's `initial_bias` (the mean of a regression output's known labels, left
    out when it has none; the log class frequencies of a classification output)."""
    means = {name: kind.initial_bias(labels[name]) for name, kind in output_kinds.items()}
    return {name: mean for name, mean in means.items() if mean is not None}
