"""What an output's numbers are: one object per kind, asked by every module.

- `Regression`: one number per image, (B,); squared error; Kendall's tau.
- `Classification(classes)`: C classes, (B, C) logits, softmax; one class per image.
- `MultiLabel(tags)`: T independent yes/no tags, (B, T) logits, a sigmoid per tag;
  any number of tags per image.

A kind owns what differs between them: the shape of the output and its bias, the
names of its training loss (`training.losses.LOSSES`) and of its metrics
(`siam_keras.metrics.<metrics>`), which rows have a label, the initial bias from the
labels, how attributes are ranked and which label an image's explanation shows, the
JSON of an explanation and the columns of a table, and (for a labelled kind) the
split of its head into one head per label for the decomposition. Nothing else tests
which kind an output is; the web page reads the kind from the sidecar the same way
(`export/web/kinds.js`). NumPy only: the runtime and the edge wheel use it too.

A kind is written in configs and sidecars as `to_json()` and read back with
`output_kind(entry)`; `kind_from_labels(name, labels)` makes the kind a manifest's
`outputs = {column = "<kind>"}` names, once its labels are known.
"""

import math

import numpy as np

from siam_keras import vocabulary

#: How a manifest cell lists a multi-label output's tags ("water;trees"; ";" alone: none).
TAG_SEPARATOR = ";"


class OutputKind:
    """The behaviour every kind has; see the module docstring.

    Attributes:
        name: the kind's name in configs, manifests, sidecars and JSON.
        loss: the name of its training loss.
        metrics: the module of `siam_keras.metrics` whose `report(labels, values,
            kind)` scores it, and `keys` its console rows.
        validation_metric: the metric `siam-train` logs each epoch (`val_<output>_<it>`).
        labels: the names of its C columns (none for a regression output).
        label_key: the key its labels have in a sidecar's head entry, and
            `label_word` what one of them is called.
        sidecar_format: the oldest sidecar format that can hold it.
        contrast: whether an image's explanation shows the difference between the
            two leading labels (softmax sees only differences) or the leading label.
    """

    name = None
    loss = None
    metrics = None
    keys = ()
    validation_metric = None
    label_key = None
    label_word = None
    sidecar_format = 1
    contrast = False
    #: The label a missing one is stored as.
    missing = math.nan
    #: What a figure calls the number it shows of an image, and its bias.
    number_words = ("value", "bias")
    #: The title of a figure's bars.
    bars_caption = "how much each attribute adds or takes away"

    def __init__(self, labels=()):
        self.labels = tuple(labels)

    # Shapes and weights --------------------------------------------------------------

    @property
    def labelled(self):
        """Whether the output has one column per label ((B, C) values, (B, K, C)
        contributions) rather than one number."""
        return bool(self.labels)

    @property
    def shape(self):
        """An image's value: () or (C,)."""
        return (len(self.labels),) if self.labels else ()

    def check_bias(self, output, value):
        """A float, or C floats (a number is used for every label); raises if malformed."""
        if not self.labelled:
            return float(value)
        values = np.asarray(value, dtype="float64")
        if values.shape not in ((), self.shape) or not np.all(np.isfinite(values)):
            raise ValueError(f"The initial bias of {self.name} output {output!r} must be a number "
                             f"or {len(self.labels)} finite numbers. Received: {value!r}")
        return [float(v) for v in np.broadcast_to(values, self.shape)]

    def describe(self):
        """How the kind reads in messages: `a regression output`, `3 classes`."""
        return f"{len(self.labels)} {self.label_key}" if self.labelled else f"a {self.name} output"

    # JSON ----------------------------------------------------------------------------

    def to_json(self):
        """The kind as a head entry's or a config's keys (none for regression)."""
        return {"kind": self.name, self.label_key: list(self.labels)} if self.labelled else {}

    def __eq__(self, other):
        return type(self) is type(other) and self.labels == other.labels

    def __hash__(self):
        return hash((self.name, self.labels))

    def __repr__(self):
        return f"{type(self).__name__}({list(self.labels)!r})" if self.labelled \
            else f"{type(self).__name__}()"

    # Labels --------------------------------------------------------------------------

    def known_rows(self, labels):
        """(N,) booleans: the rows of (N, ...) labels that have a label."""
        labels = np.asarray(labels)
        if not len(labels):
            return np.zeros(0, bool)
        return ~np.isnan(labels.astype("float64")).reshape(len(labels), -1).any(axis=1)

    def targets(self, labels):
        """(targets, sample weights) for `model.fit`: a missing label becomes 0 with
        weight 0, so it adds nothing to the loss or its gradient."""
        labels = np.asarray(labels, dtype="float32")
        known = self.known_rows(labels)
        return np.nan_to_num(labels, nan=0.0), known.astype("float32")

    def initial_bias(self, labels):
        """The bias training starts from (the known labels' mean), or None without labels."""
        labels = np.asarray(labels, dtype="float64")
        return float(np.nanmean(labels)) if np.isfinite(labels).any() else None

    @staticmethod
    def parse_label(text):
        """A labelled kind's manifest cell (its text, not missing) as `ManifestRow.outputs`
        holds it."""
        return text

    @staticmethod
    def labels_in(value):
        """The label names a row's `parse_label` value uses."""
        return {value}

    def encode(self, values):
        """(N, ...) training labels of N rows' values (None: missing)."""
        return np.array([np.nan if v is None else v for v in values], dtype="float32")

    # Predictions ---------------------------------------------------------------------

    def probabilities(self, values):
        """(..., C) probabilities of (..., C) values, or None for a regression output."""
        return None

    def ranked(self, values, contributions):
        """(B, K): what an image's attributes are ranked by."""
        return contributions

    def constant(self, predicted, labels, spread_share):
        """Whether (N, ...) validation predictions are constant, against their labels:
        their spread is at most `spread_share` of the labels' (or zero)."""
        label_spread = _spread(labels) if len(labels) > 1 else 0.0
        return (_spread(predicted) <= spread_share * label_spread if label_spread > 0
                else _spread(predicted) == 0.0)

    def readable_label(self, label):
        """One image's label as a figure or an explanation's JSON shows it, from the label
        as training holds it or as this returns it; None for a missing one (None, NaN)."""
        try:
            value = float(label)
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) else None

    def title(self, value, label):
        """A short `predicted (true ...)` of one image, for a figure's title."""
        return f"{float(value):.2f} (true {float(label):.2f})"

    def headline(self, explained, index):
        """The line that states image `index`'s prediction, for a labelled output
        (a regression output's figures state its value and bias themselves)."""
        return None

    def shown_label(self, explained, index):
        """What the number `OutputExplanation.shown` gives of image `index` is called."""
        return explained.name

    def json_entry(self, explained, index, attribute_names, label=None):
        """Image `index`'s entry in `SIAMExplanation.to_json` (`explained` an
        `OutputExplanation`)."""
        entry = {"kind": self.name, "value": float(explained.value[index]),
                 "bias": float(explained.bias)}
        if (readable := self.readable_label(label)) is not None:
            entry["label"] = readable
        entry[vocabulary.CONTRIBUTIONS] = _named(attribute_names, explained.contributions[index])
        entry["top_k"] = _top(attribute_names, explained.contributions[index],
                              explained.top_k[index])
        entry[vocabulary.SPATIAL_CONTRIBUTIONS] = explained.spatial_contributions[index].tolist()
        return entry

    def table_columns(self, output, attribute_names):
        """[(column, "string" or "float"), ...] of the output in a table, but `top_k`."""
        return [(output, "float"), *((f"{output}.{a}", "float") for a in attribute_names)]

    def table_cells(self, explained, index, attribute_names):
        """{column: value} of image `index` (the columns of `table_columns`)."""
        output = explained.name
        row = {output: float(explained.value[index])}
        for k, attribute in enumerate(attribute_names):
            row[f"{output}.{attribute}"] = float(explained.contributions[index, k])
        return row


class Regression(OutputKind):
    """One number per image, fitted with squared error."""

    name = "regression"
    loss = "squared_error"
    metrics = "regression"
    keys = ("kendall_tau", "spearman", "rmse", "r2")
    validation_metric = "kendall_tau"


class LabelledKind(OutputKind):
    """An output with one column per label: (B, C) logits, (B, K, C) contributions,
    C biases; each column is a regression-shaped head (`OutputHead.label_heads`)."""

    #: The fewest labels the kind takes.
    min_labels = 2

    def __init__(self, labels, output=None):
        """`output`: the output's name, for the messages of malformed `labels`."""
        labels = _checked_labels(labels, self, output)
        super().__init__(labels)

    def table_columns(self, output, attribute_names):
        labels = self.labels
        return [(output, "string"), (f"{output}.probability", "float"),
                *((f"{output}.{c}", "float") for c in labels),
                *((f"{output}.{c}.{a}", "float") for c in labels for a in attribute_names)]

    def table_cells(self, explained, index, attribute_names):
        output, labels = explained.name, self.labels
        probabilities = self.probabilities(explained.value[index])
        row = {output: self.table_value(self.chosen(explained.value[index])),
               f"{output}.probability": float(probabilities.max())}  # the most likely label's
        for c, name in enumerate(labels):
            row[f"{output}.{name}"] = float(explained.value[index, c])
            for k, attribute in enumerate(attribute_names):
                row[f"{output}.{name}.{attribute}"] = float(explained.contributions[index, k, c])
        return row

    def label_terms(self, explained, index, attribute_names):
        """Image `index`'s every label: its logit, probability, bias and contributions
        (the JSON entry's keys of a labelled kind)."""
        labels, values = self.labels, explained.value[index]
        return {"logits": _named(labels, values),
                "probabilities": _named(labels, self.probabilities(values)),
                "bias": _named(labels, explained.bias),
                vocabulary.CONTRIBUTIONS: {
                    c: _named(attribute_names, explained.contributions[index, :, j])
                    for j, c in enumerate(labels)}}

    def reorder(self, labels, order):
        """(N, C) label columns given in label `order`, in this kind's order."""
        return np.asarray(labels)[..., [tuple(order).index(c) for c in self.labels]]


class Classification(LabelledKind):
    """C classes, one per image: softmax over (B, C) logits, cross-entropy against
    class indices. Softmax is blind to what every class gets alike, so attributes are
    ranked by what they add to the predicted class beyond their mean over the classes,
    and an image's explanation is what separates its class from the runner-up."""

    name = "classification"
    loss = "softmax_cross_entropy"
    metrics = "classification"
    keys = ("accuracy", "top5_accuracy", "macro_f1")
    validation_metric = "accuracy"
    label_key = "classes"
    label_word = "class"
    sidecar_format = 2
    contrast = True
    missing = -1
    number_words = ("logit difference", "bias difference")
    bars_caption = "what separates the predicted class from the runner-up"

    def title(self, value, label):
        return f"{self.labels[int(np.argmax(value))]} (true {self.readable_label(label) or '?'})"

    def headline(self, explained, index):
        first, second = explained.ranked_labels(index)[:2]
        p = explained.probabilities(index)
        return (f"{explained.name}: {self.labels[first]} (p = {p[first]:.2f}), runner-up "
                f"{self.labels[second]} (p = {p[second]:.2f})")

    def shown_label(self, explained, index):
        first, second = explained.ranked_labels(index)[:2]
        return f"{self.labels[first]} - {self.labels[second]}"

    def to_json(self):  # format 2 had no "kind": a head entry with classes is one
        return {self.label_key: list(self.labels)}

    def known_rows(self, labels):
        labels = np.asarray(labels)
        return labels.reshape(len(labels), -1)[:, 0] >= 0 if len(labels) else np.zeros(0, bool)

    def targets(self, labels):
        labels = np.asarray(labels, dtype="int32")
        return np.maximum(labels, 0), (labels >= 0).astype("float32")

    def reorder(self, labels, order):
        """(N,) class indices into label `order`, as indices into this kind's classes."""
        position = np.array([self.labels.index(c) for c in order])
        labels = np.asarray(labels)
        return np.where(labels >= 0, position[np.maximum(labels, 0)], -1)

    def readable_label(self, label):
        if isinstance(label, str):
            return label if label in self.labels else None
        index = OutputKind.readable_label(self, label)  # a class index; None, NaN: missing
        return (self.labels[int(index)] if index is not None and index == int(index)
                and 0 <= index < len(self.labels) else None)

    def encode(self, values):
        """(N,) class indices, -1 where missing or not one of the classes."""
        position = {label: i for i, label in enumerate(self.labels)}
        return np.array([position.get(v, -1) for v in values], dtype="int32")

    def initial_bias(self, labels):
        """Log class frequencies of (N,) class indices (< 0: missing), each class counted
        once more (so that a class absent from `labels` gets a finite bias)."""
        labels = np.asarray(labels).reshape(-1)
        counts = np.bincount(labels[labels >= 0], minlength=len(self.labels))[:len(self.labels)]
        counts = counts + 1.0
        return [float(v) for v in np.log(counts / counts.sum())]

    def probabilities(self, values):
        logits = np.asarray(values, dtype="float64")
        exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return exp / exp.sum(axis=-1, keepdims=True)

    def chosen(self, values):
        """The labels an image's value names: its predicted class."""
        return [int(np.argmax(values))]

    def table_value(self, chosen):
        return self.labels[chosen[0]]

    def ranked(self, values, contributions):
        predicted = np.argmax(values, axis=1)[:, None, None]
        centred = contributions - contributions.mean(axis=2, keepdims=True)
        return np.take_along_axis(centred, predicted, axis=2)[..., 0]

    def constant(self, predicted, labels, spread_share):
        probabilities = self.probabilities(predicted)
        true = np.asarray(labels).astype("int64").reshape(-1)
        if len(np.unique(true)) < 2:
            return False  # one class in the labels: predicting it is right
        one_class = len(np.unique(np.argmax(predicted, axis=1))) == 1
        one_hot = np.eye(len(self.labels))[true]
        return one_class or _spread(probabilities) <= spread_share * _spread(one_hot)

    def json_entry(self, explained, index, attribute_names, label=None):
        """The predicted class (`value`), every class' logit, probability, bias and
        contributions, and what separates the predicted class from the runner-up."""
        names, classes = attribute_names, self.labels
        ranked = explained.ranked_labels(index)
        versus = explained.versus(index)
        order = np.argsort(-np.abs(versus.contributions), kind="stable")
        order = order[:len(explained.top_k[index])]
        entry = {"kind": self.name, "value": classes[ranked[0]],
                 "runner_up": classes[ranked[1]], "classes": list(classes)}
        terms = self.label_terms(explained, index, names)
        entry.update({key: terms[key] for key in ("logits", "probabilities", "bias")})
        if (readable := self.readable_label(label)) is not None:
            entry["label"] = readable
        entry[vocabulary.CONTRIBUTIONS] = terms[vocabulary.CONTRIBUTIONS]
        entry["top_k"] = _top(names, explained.ranked_contributions(index), explained.top_k[index])
        entry["versus_runner_up"] = {
            "logit_difference": versus.value, "bias_difference": versus.bias,
            vocabulary.CONTRIBUTIONS: _named(names, versus.contributions),
            "top_k": _top(names, versus.contributions, order)}
        entry[vocabulary.SPATIAL_CONTRIBUTIONS] = _spatial(explained, index)
        return entry


class MultiLabel(LabelledKind):
    """T independent yes/no tags per image, any number of them present: a sigmoid per tag
    over (B, T) logits, binary cross-entropy against (B, T) 0/1 labels (a row with a
    missing tag, NaN, is left out). Each tag's logit is a head of its own, so an image's
    explanation is that of its most likely tag (no contrast), and attributes are ranked
    by their contributions to it. In a manifest, a cell lists the tags present separated
    by `;` (`TAG_SEPARATOR`; `;` alone: none); an empty cell is missing."""

    name = "multilabel"
    loss = "sigmoid_cross_entropy"
    metrics = "multilabel"
    keys = ("mean_ap", "micro_f1", "macro_f1")
    validation_metric = "mean_ap"
    label_key = "tags"
    label_word = "tag"
    sidecar_format = 3
    min_labels = 1
    number_words = ("logit", "bias")
    bars_caption = "how much each attribute adds to the tag's logit"
    #: The probability from which a tag is predicted present.
    threshold = 0.5

    @staticmethod
    def parse_label(text):
        return tuple(sorted({tag.strip() for tag in text.split(TAG_SEPARATOR) if tag.strip()}))

    @staticmethod
    def labels_in(value):
        return set(value)

    def encode(self, values):
        """(N, T) 0/1, a row of NaN where missing."""
        encoded = np.full((len(values), len(self.labels)), np.nan, dtype="float32")
        for i, value in enumerate(values):
            if value is not None:
                encoded[i] = [tag in value for tag in self.labels]
        return encoded

    def initial_bias(self, labels):
        """Each tag's log-odds in the known rows (each count smoothed by one)."""
        labels = np.asarray(labels, dtype="float64").reshape(-1, len(self.labels))
        known = labels[self.known_rows(labels)]
        share = (known.sum(axis=0) + 1.0) / (len(known) + 2.0)
        return [float(v) for v in np.log(share / (1.0 - share))]

    def probabilities(self, values):
        return 1.0 / (1.0 + np.exp(-np.asarray(values, dtype="float64")))

    def chosen(self, values):
        """The tags predicted present, most likely first."""
        p = self.probabilities(values)
        return [int(t) for t in np.argsort(-p, kind="stable") if p[t] >= self.threshold]

    def table_value(self, chosen):
        """The tags present, as a manifest cell lists them (`;` alone: none)."""
        return TAG_SEPARATOR.join(self.labels[t] for t in chosen) or TAG_SEPARATOR

    def ranked(self, values, contributions):
        leading = np.argmax(values, axis=1)[:, None, None]
        return np.take_along_axis(contributions, leading, axis=2)[..., 0]

    def constant(self, predicted, labels, spread_share):
        return super().constant(self.probabilities(predicted), labels, spread_share)

    def readable_label(self, label):
        """The tags present as a manifest cell lists them (`;` alone: none), from (T,) 0/1
        labels, a list of tag names or such a cell; None for a missing or foreign one."""
        if isinstance(label, str):
            label = self.parse_label(label)
        if isinstance(label, (list, tuple)) and all(isinstance(t, str) for t in label):
            if not set(label) <= set(self.labels):
                return None
            return self.table_value([t for t, tag in enumerate(self.labels) if tag in label])
        label = np.asarray(label, dtype="float64") if label is not None else np.full(1, np.nan)
        if label.shape != self.shape or not np.isfinite(label).all():
            return None
        return self.table_value([t for t, v in enumerate(label) if v >= 0.5])

    def title(self, value, label):
        return f"{self.table_value(self.chosen(value))} (true {self.readable_label(label) or '?'})"

    def headline(self, explained, index):
        p = explained.probabilities(index)
        present = self.chosen(explained.value[index])
        if not present:
            best = int(np.argmax(p))
            return f"{explained.name}: no tag (most likely {self.labels[best]}, p = {p[best]:.2f})"
        return f"{explained.name}: " + ", ".join(f"{self.labels[t]} (p = {p[t]:.2f})"
                                                 for t in present)

    def shown_label(self, explained, index):
        return self.labels[int(np.argmax(explained.value[index]))]

    def json_entry(self, explained, index, attribute_names, label=None):
        """The tags predicted present (`value`), every tag's logit, probability, bias and
        contributions, and the attributes ranked for the most likely tag (`shown`)."""
        names, tags, values = attribute_names, self.labels, explained.value[index]
        entry = {"kind": self.name, "value": [tags[t] for t in self.chosen(values)],
                 "tags": list(tags), "threshold": self.threshold,
                 "shown": tags[int(np.argmax(values))]}
        terms = self.label_terms(explained, index, names)
        entry.update({key: terms[key] for key in ("logits", "probabilities", "bias")})
        readable = self.readable_label(label)
        if readable is not None:
            present = self.parse_label(readable)
            entry["label"] = [t for t in self.labels if t in present]
        entry[vocabulary.CONTRIBUTIONS] = terms[vocabulary.CONTRIBUTIONS]
        entry["top_k"] = _top(names, explained.ranked_contributions(index), explained.top_k[index])
        entry[vocabulary.SPATIAL_CONTRIBUTIONS] = _spatial(explained, index)
        return entry


#: The kinds by name, in the order a config lists them.
KINDS = {kind.name: kind for kind in (Regression, Classification, MultiLabel)}
REGRESSION = Regression()


def output_kind(entry, output=None):
    """The kind a head entry or config dict describes (`to_json`'s keys; a dict with
    `classes` and no `kind` is a classification output, one with neither regression), or
    an `OutputKind` as it is; `output` names the output in the messages."""
    if isinstance(entry, OutputKind):
        return entry
    if entry is not None and not isinstance(entry, dict):
        raise TypeError(f"The kind of output {output!r} must be an OutputKind (e.g. "
                        f"MultiLabel(['a', 'b'])) or its JSON dict (e.g. {{'kind': "
                        f"'multilabel', 'tags': ['a', 'b']}}). Received: {entry!r}")
    entry = entry or {}
    name = entry.get("kind", "classification" if "classes" in entry else "regression")
    kind = _kind_class(name)
    return kind() if kind.label_key is None else kind(entry.get(kind.label_key, ()), output)


def kind_from_labels(name, labels=(), output=None):
    """The kind `name` with `labels` (a regression output takes none)."""
    kind = _kind_class(name)
    return kind() if kind.label_key is None else kind(labels, output)


def _kind_class(name):
    if name not in KINDS:
        raise ValueError(f"Output kinds must be one of {', '.join(KINDS)}. Received: {name!r}")
    return KINDS[name]


def kinds_by_output(output_names, kinds=None, classes=None):
    """{output: OutputKind} for every output, checked: `kinds` maps outputs to kinds
    (`OutputKind`s or their JSON), `classes` ({output: class names}, the older
    spelling) to classification outputs; the rest are regression outputs."""
    if kinds is not None and not isinstance(kinds, dict):
        raise TypeError(f"`output_kinds` must be a dict {{output: kind}}. Received: {kinds!r}")
    if classes is not None and not isinstance(classes, dict):
        raise TypeError("`output_classes` must be a dict {output: [class names]}. Received: "
                        f"output_classes={classes!r}")
    for argument, named in (("output_classes", classes), ("output_kinds", kinds)):
        unknown = sorted(set(named or {}) - set(output_names))
        if unknown:
            raise ValueError(f"`{argument}` names unknown outputs {unknown}. Outputs: "
                             f"{list(output_names)}")
    given = {name: Classification(labels, name) for name, labels in (classes or {}).items()}
    for name, kind in (kinds or {}).items():
        given[name] = output_kind(kind, name)
    return {name: given.get(name, REGRESSION) for name in output_names}


def labelled_kinds(kinds):
    """{output: labels} of the labelled outputs (classes, tags) of {output: kind}."""
    return {name: list(kind.labels) for name, kind in kinds.items() if kind.labelled}


def classes_of(kinds):
    """{output: class names} of the classification outputs of {output: kind}: what
    `output_classes` means wherever a model, head or data set has one."""
    return {name: kind.labels for name, kind in kinds.items()
            if isinstance(kind, Classification)}


def _checked_labels(labels, kind, output=None):
    whose = f"output {output!r}" if output is not None else f"a {kind.name} output"
    if isinstance(labels, str) or not hasattr(labels, "__iter__"):
        raise TypeError(f"The {kind.label_key} of {whose} must be a list of names. "
                        f"Received: {labels!r}")
    labels = tuple(labels)
    if (len(labels) < kind.min_labels or not all(isinstance(c, str) and c for c in labels)
            or len(set(labels)) != len(labels)):
        raise ValueError(f"The {kind.label_key} of {whose} must be at least {kind.min_labels} "
                         f"unique non-empty strings. Received: {list(labels)}")
    return labels


def _spread(values):
    values = np.asarray(values, dtype="float64")
    return float(values.std(axis=0).mean()) if len(values) > 1 else 0.0


def _named(names, values):
    return {name: float(v) for name, v in zip(names, values)}


def _spatial(explained, index):
    """The spatial contributions of the number image `index`'s entry explains."""
    return explained.image(index).spatial_contributions.tolist()


def _top(names, values, order):
    return [{"attribute": names[j], "contribution": float(values[j])} for j in order]


def kinds_of(outputs):
    """{output: OutputKind} of a dict of kinds (or their JSON), or of output names
    (regression outputs): what the functions that take `outputs` accept."""
    if isinstance(outputs, dict):
        return kinds_by_output(tuple(outputs), outputs)
    return kinds_by_output(tuple(outputs))
