"""`SIAMLayer`: attribute maps, spatial templates and per-attribute contributions."""

import keras
import numpy as np
from keras import ops

from siam_keras import vocabulary
from siam_keras.layers.alternating_signs import AlternatingSigns
from siam_keras.runtime.adaptive_pooling import adaptive_pooling_matrix
from siam_keras.runtime.argument_validation import is_integer, positive_int
from siam_keras.runtime.head_choices import CLASS_TEMPLATES, DEFAULT_CLASS_TEMPLATES, HEADS
from siam_keras.runtime.output_kinds import classes_of, kinds_by_output
from siam_keras.runtime.training_distribution import TrainingDistribution

#: The paper's numbers, as defaults.
DEFAULT_NUM_TEMPLATES = 2
DEFAULT_TEMPLATE_SIZE = 15
DEFAULT_BORDER_SIZE = 2
DEFAULT_TEMPLATE_INIT = 0.01
DEFAULT_MIXING_MAGNITUDE = 0.5


def _attribute_names(attribute_names):
    if is_integer(attribute_names):
        count = positive_int("attribute_names", attribute_names)
        return tuple(f"attribute_{i}" for i in range(count))
    if isinstance(attribute_names, str) or not hasattr(attribute_names, "__iter__"):
        raise TypeError(
            "`attribute_names` must be a list of names or a number of attributes. "
            f"Received: attribute_names={attribute_names!r}"
        )
    names = tuple(attribute_names)
    if not names:
        raise ValueError(
            "SIAM needs at least one attribute. Received: attribute_names=[] (zero attributes)"
        )
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(
            f"Attribute names must be unique non-empty strings. Received: {list(names)}"
        )
    return names


@keras.saving.register_keras_serializable(package="siam_keras")
class SIAMLayer(keras.layers.Layer):
    """Semantically Interpretable Activation Maps head.

    The only path from backbone features to the outputs runs through K
    non-negative attribute maps. Each map is averaged into an attribute score
    ("what"), and, for every named output, matched against G non-negative S x S
    spatial templates ("where"); a signed weight per template mixes the G
    responses into the attribute's contribution ("how"). Each output is exactly
    the sum of its contributions plus a bias.

    With `head="linear"` there are no templates: an attribute's contribution is a
    signed weight times its score (the paper's simpler variant, and an ablation).

    An output's kind (`siam_keras.runtime.output_kinds`) says what its numbers are. A
    labelled output, such as a classification output with C classes, gives (B, C)
    logits and (B, K, C) contributions, one column per label, and the logits are the
    per-label biases plus the sum of the contributions over attributes. Why class X and not Y is then the difference of two columns. With
    `class_templates="shared"` the classes share each attribute's G templates and
    mix their responses with their own signed weights; with `"per_class"` every
    class has its own templates too.

    The whole head runs in float32, also under a mixed precision policy: the
    backbone before it runs in the policy's compute dtype, but sums over the
    H x W cells of float16 maps (and of their gradients, scaled by the loss
    scale) overflow, which skips optimizer steps. The head is a 1x1 convolution
    and S x S x K x G products, a negligible share of the model's work. Every
    output and every weight is float32.

    Args:
        attribute_names: list of K attribute names, or the number K.
        output_names: names of the outputs, e.g. `("scenicness",)`.
        head: `"templates"` (default) or `"linear"`.
        num_templates: G, templates per attribute and output. Paper: 2.
        template_size: S, side of the templates; maps are average-pooled to
            S x S (PyTorch's adaptive bins). Paper: 15.
        border_size: cells zeroed along each side of every map. Paper: 2.
        output_kinds: dict mapping outputs to their `OutputKind` (or its JSON, e.g.
            `{"classes": [...]}`); the outputs left out are regression outputs.
        output_classes: dict mapping classification outputs to their class
            names (at least 2): the older spelling of `Classification` kinds.
        class_templates: `"shared"` (default) or `"per_class"`, see above.
        initial_biases: dict mapping output names to the initial bias (the
            paper uses the label mean; a labelled output takes C values,
            e.g. the log class frequencies); missing outputs start at 0.
        attribute_initializer, attribute_regularizer: for the 1x1 convolution
            from C channels to K maps.
        template_initializer: default constant 0.01 (the paper's).
        template_regularizer: e.g. `keras.regularizers.L1(1e-3)`.
        template_constraint: default `"non_neg"`; templates stay >= 0.
        mixing_initializer: default `AlternatingSigns(0.5)`.
        contribution_regularizer: applied to each output's (B, K) contributions
            while training, averaged over the batch like Keras' activity
            regularizers. `keras.regularizers.L1(...)` makes attributes that do
            not matter contribute nothing, rather than carry part of the bias.
        training_distribution: the `TrainingDistribution` of the training photos'
            attribute maps (or its JSON dict), which flags photos unlike them;
            `siam-train` sets it after training. None: no photo is flagged.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: backbone features, (B, H, W, C), static H, W and C.

    Returns:
        A dict of float32 tensors:
        - `attribute_maps`: (B, H, W, K), non-negative.
        - `attribute_scores`: (B, K), spatial mean of each map.
        - `<output>`: (B,), for each output name; (B, C) logits for a
          labelled output.
        - `<output>_contributions`: (B, K); they sum to `<output>` minus its bias.
          (B, K, C) for a labelled output, summing over K to the logits
          minus the per-class biases.

    Example:
    >>> layer = SIAMLayer(["trees", "water", "road"], output_names=["scenicness"],
    ...                   template_size=4, border_size=0)
    >>> out = layer(np.random.rand(2, 8, 8, 16).astype("float32"))
    >>> tuple(out["scenicness_contributions"].shape)
    (2, 3)

    Reference:
        Marcos, Lobry, Tuia. Semantically Interpretable Activation Maps:
        what-where-how explanations within CNNs. ICCV Workshops 2019.
    """

    def __init__(
        self,
        attribute_names,
        output_names=vocabulary.PAPER_OUTPUTS,
        head="templates",
        output_classes=None,
        class_templates=DEFAULT_CLASS_TEMPLATES,
        output_kinds=None,
        num_templates=DEFAULT_NUM_TEMPLATES,
        template_size=DEFAULT_TEMPLATE_SIZE,
        border_size=DEFAULT_BORDER_SIZE,
        initial_biases=None,
        attribute_initializer="glorot_uniform",
        attribute_regularizer=None,
        template_initializer=None,
        template_regularizer=None,
        template_constraint="non_neg",
        mixing_initializer=None,
        contribution_regularizer=None,
        training_distribution=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.attribute_names = list(_attribute_names(attribute_names))
        self.training_distribution = training_distribution
        self.output_names = list(vocabulary.validate_output_names(output_names))
        if head not in HEADS:
            raise ValueError(f"`head` must be one of {list(HEADS)}. Received: head={head!r}")
        self.head = head
        self.output_kinds = kinds_by_output(self.output_names, output_kinds, output_classes)
        if class_templates not in CLASS_TEMPLATES:
            raise ValueError(f"`class_templates` must be one of {list(CLASS_TEMPLATES)}. "
                             f"Received: class_templates={class_templates!r}")
        self.class_templates = class_templates
        self.num_templates = positive_int("num_templates", num_templates)
        self.template_size = positive_int("template_size", template_size)
        self.border_size = positive_int("border_size", border_size, minimum=0)
        initial_biases = dict(initial_biases or {})
        unknown = sorted(set(initial_biases) - set(self.output_names))
        if unknown:
            raise ValueError(
                f"`initial_biases` names unknown outputs {unknown}. Outputs: {self.output_names}"
            )
        self.initial_biases = {k: self._checked_bias(k, v) for k, v in initial_biases.items()}
        self.attribute_initializer = keras.initializers.get(attribute_initializer)
        self.attribute_regularizer = keras.regularizers.get(attribute_regularizer)
        self.template_initializer = keras.initializers.get(
            template_initializer or keras.initializers.Constant(DEFAULT_TEMPLATE_INIT)
        )
        self.template_regularizer = keras.regularizers.get(template_regularizer)
        self.template_constraint = keras.constraints.get(template_constraint)
        self.mixing_initializer = keras.initializers.get(
            mixing_initializer or AlternatingSigns(DEFAULT_MIXING_MAGNITUDE)
        )
        self.contribution_regularizer = keras.regularizers.get(contribution_regularizer)

    def _checked_bias(self, name, value):
        """A float, or a list of C floats for a labelled output (a number is used for
        every label)."""
        return self.output_kinds[name].check_bias(name, value)

    @property
    def output_classes(self):
        """{output: class names} of the classification outputs."""
        return classes_of(self.output_kinds)

    @property
    def num_attributes(self):
        return len(self.attribute_names)

    def num_classes(self, output_name):
        """C of a labelled output (its classes or tags); None for a regression output."""
        return len(self.output_kinds[output_name].labels) or None

    def build(self, input_shape):
        if len(input_shape) != 4 or any(d is None for d in input_shape[1:]):
            raise ValueError(
                "SIAMLayer expects backbone features of shape (batch, height, width, "
                f"channels) with known height, width and channels. Received: input_shape={input_shape}"
            )
        _, height, width, channels = input_shape
        if 2 * self.border_size >= min(height, width):
            raise ValueError(
                f"`border_size`={self.border_size} zeroes the whole {height}x{width} feature "
                "grid; it must be less than half its smaller side."
            )
        k = self.num_attributes
        self.attribute_kernel = self.add_weight(
            shape=(1, 1, channels, k),
            initializer=self.attribute_initializer,
            regularizer=self.attribute_regularizer,
            autocast=False,
            name="attribute_kernel",
        )
        self.attribute_bias = self.add_weight(
            shape=(k,), initializer="zeros", autocast=False, name="attribute_bias"
        )
        # The head runs in float32: its weights are never autocast to the compute dtype.
        self.templates, self.mixing, self.biases = {}, {}, {}
        g = 1 if self.head == "linear" else self.num_templates
        for name in self.output_names:
            classes = self.output_kinds[name].shape
            per_class = classes if self.class_templates == "per_class" else ()
            if self.head == "templates":
                self.templates[name] = self.add_weight(
                    shape=(self.template_size, self.template_size, k, g, *per_class),
                    initializer=self.template_initializer,
                    regularizer=self.template_regularizer,
                    constraint=self.template_constraint,
                    autocast=False,
                    name=f"{name}_templates",
                )
            self.mixing[name] = self.add_weight(
                shape=(k, g, *classes), initializer=self.mixing_initializer, autocast=False,
                name=f"{name}_mixing",
            )
            self.biases[name] = self.add_weight(
                shape=classes,
                initializer=keras.initializers.Constant(self.initial_biases.get(name, 0.0)),
                autocast=False,
                name=f"{name}_bias",
            )
        border = np.zeros((height, width, 1), dtype="float32")
        b = self.border_size
        border[b : height - b, b : width - b] = 1.0
        self._border_mask = border
        self._pool_rows = adaptive_pooling_matrix(height, self.template_size)
        self._pool_cols = adaptive_pooling_matrix(width, self.template_size)
        self._pool_identity = height == width == self.template_size
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: channels})

    def _pool(self, maps):
        if self._pool_identity:
            return maps
        rows = ops.convert_to_tensor(self._pool_rows)
        cols = ops.convert_to_tensor(self._pool_cols)
        return ops.einsum("sh,bhwk,tw->bstk", rows, maps, cols)

    def call(self, inputs):
        outputs = self.outputs_from_maps(self.compute_attribute_maps(inputs))
        if self.contribution_regularizer is not None:
            batch = ops.cast(ops.shape(inputs)[0], "float32")
            for name in self.output_names:
                penalty = self.contribution_regularizer(outputs[vocabulary.contributions_key(name)])
                self.add_loss(ops.divide_no_nan(penalty, batch))
        return outputs

    def compute_attribute_maps(self, features):
        """Backbone features (B, H, W, C) -> non-negative attribute maps (B, H, W, K)."""
        features = ops.cast(features, "float32")
        maps = ops.conv(features, self.attribute_kernel, strides=1, padding="valid")
        maps = ops.relu(maps + self.attribute_bias)
        if self.border_size:
            maps = maps * ops.convert_to_tensor(self._border_mask)
        return maps

    def outputs_from_maps(self, attribute_maps):
        """The rest of the head, from (B, H, W, K) attribute maps to the output dict.

        `call` is `outputs_from_maps(compute_attribute_maps(features))`; calling it
        on edited maps (an attribute removed or scaled) gives the counterfactual
        outputs of an intervention.
        """
        maps = ops.cast(attribute_maps, "float32")
        scores = ops.mean(maps, axis=(1, 2))
        outputs = {vocabulary.ATTRIBUTE_MAPS: maps, vocabulary.ATTRIBUTE_SCORES: scores}
        pooled = None if self.head == "linear" else self._pool(maps)
        for name in self.output_names:
            if self.output_kinds[name].labelled:
                contributions = self._class_contributions(name, scores, pooled)
                outputs[vocabulary.contributions_key(name)] = contributions
                outputs[name] = ops.sum(contributions, axis=1) + self.biases[name][None]
                continue
            if self.head == "linear":
                responses = scores[:, :, None]
            else:
                # (B, S, S, K, 1) x (1, S, S, K, G) summed over S x S -> (B, K, G).
                matched = pooled[..., None] * self.templates[name][None]
                responses = ops.relu(ops.sum(matched, axis=(1, 2)))
            contributions = ops.sum(responses * self.mixing[name][None], axis=-1)
            outputs[vocabulary.contributions_key(name)] = contributions
            outputs[name] = ops.sum(contributions, axis=-1) + self.biases[name]
        return outputs

    def _class_contributions(self, name, scores, pooled):
        """(B, K, C) contributions of labelled output `name`."""
        mixing = self.mixing[name]
        if self.head == "linear":
            return scores[:, :, None] * mixing[None, :, 0, :]
        templates = self.templates[name]
        if self.class_templates == "per_class":  # (B, S, S, K) x (S, S, K, G, C) -> (B, K, G, C)
            responses = ops.relu(ops.einsum("bstk,stkgc->bkgc", pooled, templates))
            return ops.sum(responses * mixing[None], axis=2)
        responses = ops.relu(ops.einsum("bstk,stkg->bkg", pooled, templates))
        return ops.einsum("bkg,kgc->bkc", responses, mixing)

    def cell_templates(self, output_name):
        """Each template pulled back to the feature grid, as a NumPy (H, W, K, G) array.

        Entry [h, w, k, g] is the weight of map cell (h, w) in the response of
        attribute k's template g: the pooling is linear, so the response is
        `sum_hw maps[h, w, k] * cell_templates[h, w, k, g]`. With the linear
        head, G = 1 and every cell weighs 1 / (H W) (the spatial mean). A
        labelled output with per-class templates gives (H, W, K, G, C).
        """
        if output_name not in self.output_names:
            raise ValueError(
                f"Unknown output {output_name!r}. Outputs: {self.output_names}"
            )
        height, width = self._border_mask.shape[:2]
        if self.head == "linear":
            return np.full((height, width, self.num_attributes, 1), 1.0 / (height * width), "float32")
        templates = keras.ops.convert_to_numpy(self.templates[output_name]).astype("float64")
        cells = np.einsum("sh,stk...,tw->hwk...", self._pool_rows, templates, self._pool_cols)
        return cells.astype("float32")

    def compute_output_spec(self, inputs):
        batch, height, width = inputs.shape[0], inputs.shape[1], inputs.shape[2]
        k = self.num_attributes
        spec = {
            vocabulary.ATTRIBUTE_MAPS: keras.KerasTensor((batch, height, width, k), "float32"),
            vocabulary.ATTRIBUTE_SCORES: keras.KerasTensor((batch, k), "float32"),
        }
        for name in self.output_names:
            classes = self.output_kinds[name].shape
            spec[vocabulary.contributions_key(name)] = keras.KerasTensor((batch, k, *classes),
                                                                         "float32")
            spec[name] = keras.KerasTensor((batch, *classes), "float32")
        return spec

    @property
    def training_distribution(self):
        """The `TrainingDistribution` of the training photos, or None."""
        return self._training_distribution

    @training_distribution.setter
    def training_distribution(self, value):
        if isinstance(value, dict):
            value = TrainingDistribution.from_json(value)
        if value is not None:
            if not isinstance(value, TrainingDistribution):
                raise TypeError(f"`training_distribution` must be a TrainingDistribution, its "
                                f"JSON dict or None. Received: {type(value).__name__}")
            value.check_attributes(self.attribute_names)
        self._training_distribution = value

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attribute_names": list(self.attribute_names),
                "output_names": list(self.output_names),
                "head": self.head,
                "output_kinds": {name: kind.to_json() for name, kind in self.output_kinds.items()
                                 if kind.labelled},
                "class_templates": self.class_templates,
                "num_templates": self.num_templates,
                "template_size": self.template_size,
                "border_size": self.border_size,
                "initial_biases": dict(self.initial_biases),
                "attribute_initializer": keras.initializers.serialize(self.attribute_initializer),
                "attribute_regularizer": keras.regularizers.serialize(self.attribute_regularizer),
                "template_initializer": keras.initializers.serialize(self.template_initializer),
                "template_regularizer": keras.regularizers.serialize(self.template_regularizer),
                "template_constraint": keras.constraints.serialize(self.template_constraint),
                "mixing_initializer": keras.initializers.serialize(self.mixing_initializer),
                "contribution_regularizer": keras.regularizers.serialize(
                    self.contribution_regularizer
                ),
                "training_distribution": (None if self.training_distribution is None
                                          else self.training_distribution.to_json()),
            }
        )
        return config
