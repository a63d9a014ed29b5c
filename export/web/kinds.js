// What an output's numbers are: one object per kind, as siam_keras/runtime/output_kinds.py.
// The page reads each head's kind from siam_model.json (`kind`, or `classes` alone for a
// classification output) and asks it, never testing which kind it is; no DOM here.

/** Softmax of logits (an array), stable. */
export function softmax(logits) {
  const top = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - top));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

/** Indices of `values` sorted by decreasing value. */
export function ranked(values) {
  return Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
}

const percent = (p) => `${(100 * p).toFixed(1)}%`;

/** One number per image. */
const REGRESSION = {
  name: "regression",
  labelKey: null,
  minLabels: 0,
  sidecarFormat: 1,
  /** What an image's explanation shows: [first, second] label indices (a contrast), or [0]. */
  shown: () => [0],
  probabilities: () => null,
};

/** C classes, one per image: softmax; the explanation shows what separates the predicted
 * class from the runner-up. */
const CLASSIFICATION = {
  name: "classification",
  labelKey: "classes",
  minLabels: 2,
  sidecarFormat: 2,
  shown: (values) => ranked(values).slice(0, 2),
  probabilities: softmax,
  /** The headline's text and data attributes. */
  headline(head, entry) {
    const p = entry.probabilities, [best, second] = entry.shown, labels = head.labels;
    return [`${entry.name}: ${labels[best]} (${percent(p[best])}), runner-up ${labels[second]} ` +
      `(${percent(p[second])})`, { output: entry.name, value: String(entry.value[best]),
      predicted: labels[best], runnerUp: labels[second], logits: JSON.stringify(entry.value) }];
  },
  /** The what-if line's text and data attributes, for the edited values. */
  whatIf(head, entry, values) {
    const p = entry.probabilities, [best] = entry.shown, q = softmax(values);
    const now = q.indexOf(Math.max(...q));
    return [`What if: ${head.labels[best]} ${percent(p[best])} → ${percent(q[best])}; predicted: ` +
      `${head.labels[now]} (${percent(q[now])})`, { output: entry.name, value: String(values[best]),
      values: JSON.stringify(values), predicted: head.labels[now] }];
  },
  barsTitle: (number) => `What separates ${number.name.replace(" - ", " from ")}`,
};

const sigmoid = (values) => values.map((v) => 1 / (1 + Math.exp(-v)));
/** The probability from which a tag is predicted present (MultiLabel.threshold). */
const TAG_THRESHOLD = 0.5;

/** T independent yes/no tags: a sigmoid each; the explanation shows the most likely tag's
 * logit (each tag is a head of its own). */
const MULTILABEL = {
  name: "multilabel",
  labelKey: "tags",
  minLabels: 1,
  sidecarFormat: 3,
  shown: (values) => ranked(values).slice(0, 1),
  probabilities: sigmoid,
  headline(head, entry) {
    const p = entry.probabilities, order = ranked(p), labels = head.labels;
    const present = order.filter((t) => p[t] >= TAG_THRESHOLD);
    const text = present.length
      ? present.map((t) => `${labels[t]} (${percent(p[t])})`).join(", ")
      : `no tag (most likely ${labels[order[0]]}, ${percent(p[order[0]])})`;
    return [`${entry.name}: ${text}`, { output: entry.name, value: String(entry.value[order[0]]),
      present: JSON.stringify(present.map((t) => labels[t])), logits: JSON.stringify(entry.value) }];
  },
  whatIf(head, entry, values) {
    const [tag] = entry.shown, q = sigmoid(values);
    const present = ranked(q).filter((t) => q[t] >= TAG_THRESHOLD).map((t) => head.labels[t]);
    return [`What if: ${head.labels[tag]} ${percent(entry.probabilities[tag])} → ${percent(q[tag])}; ` +
      `present: ${present.join(", ") || "none"}`, { output: entry.name, value: String(values[tag]),
      values: JSON.stringify(values), present: JSON.stringify(present) }];
  },
};

export const KINDS = { regression: REGRESSION, classification: CLASSIFICATION, multilabel: MULTILABEL };

/** The sidecar formats this page reads: up to the newest any kind needs (sidecar.py's). */
export const FORMATS = Array.from(
  { length: Math.max(...Object.values(KINDS).map((kind) => kind.sidecarFormat)) },
  (_, n) => `siam-keras-model/${n + 1}`);

/** The kind of a head entry of siam_model.json, and its labels (null for regression). */
export function outputKind(name, entry) {
  const kindName = entry.kind ?? (entry.classes ? "classification" : "regression");
  const kind = KINDS[kindName];
  if (!kind) throw new Error(`head ${name}: unknown output kind ${kindName}`);
  const labels = kind.labelKey ? entry[kind.labelKey] ?? [] : null;
  if (labels && labels.length < kind.minLabels) {
    throw new Error(`head ${name}: fewer than ${kind.minLabels} ${kind.labelKey}`);
  }
  return { kind, labels };
}
