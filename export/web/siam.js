// The arithmetic of a SIAM explanation, in the page: the decomposition of every
// output over the feature grid and the what-if interventions, from the head's
// weights in siam_model.json. It mirrors siam_keras.runtime.decomposition and
// SIAMExplainer.intervene (docs/sidecar.md gives the formulas); no DOM here.

import { FORMATS, outputKind, ranked, softmax } from "./kinds.js";

export const PIXELS_SIGNATURE = "serving_default";
export const PIXELS_INPUT = "image";
export const ATTRIBUTE_MAPS = "attribute_maps";
export const ATTRIBUTE_SCORES = "attribute_scores";
export const contributionsKey = (output) => `${output}_contributions`;
export { ranked, softmax };

/** Flattens a nested JSON array into a Float64Array, checking its shape. */
function flat(nested, shape, what) {
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let n = 0;
  const walk = (value, depth) => {
    if (depth === shape.length) {
      if (typeof value !== "number") throw new Error(`${what}: a non-number in the array`);
      out[n++] = value;
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
      throw new Error(`${what}: expected shape [${shape}] (axis ${depth} differs)`);
    }
    for (const item of value) walk(item, depth + 1);
  };
  walk(nested, 0);
  return out;
}

function shapeOf(nested) {
  const shape = [];
  for (let v = nested; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

/**
 * One output's head on the feature grid (siam_model.json's head[output]).
 * Its kind (kinds.js) says what its numbers are. Regression: cell_templates (H, W, K, G),
 * mixing (K, G), bias a number. A labelled output (its C labels: classes, tags): mixing
 * (K, G, C), bias (C), cell_templates (H, W, K, G) shared by the labels or (H, W, K, G, C)
 * per label.
 */
export class OutputHead {
  constructor(name, entry) {
    this.name = name;
    ({ kind: this.kind, labels: this.labels } = outputKind(name, entry));
    const cellShape = shapeOf(entry.cell_templates);
    const [h, w, k, g] = cellShape;
    const c = this.labels ? this.labels.length : 1;
    this.shape = { h, w, k, g, c };
    this.perClass = cellShape.length === 5;
    if (cellShape.length !== 4 && !(this.labels && this.perClass && cellShape[4] === c)) {
      throw new Error(`head ${name}: cell_templates of shape [${cellShape}] do not fit the head`);
    }
    this.cells = flat(entry.cell_templates, cellShape, `head ${name}.cell_templates`);
    this.mixing = flat(entry.mixing, this.labels ? [k, g, c] : [k, g], `head ${name}.mixing`);
    this.bias = this.labels ? flat(entry.bias, [c], `head ${name}.bias`) : Float64Array.of(entry.bias);
    if (!this.labels && typeof entry.bias !== "number") throw new Error(`head ${name}: bias must be a number`);
  }

  /** Whether it has one column per label. */
  get labelled() { return this.labels !== null; }

  /**
   * Decomposes this output for one image's maps (Float32Array/Float64Array of
   * H*W*K values, row-major (h, w, k), as LiteRT returns them).
   * Returns per class c (one for regression): contributions[c] (K), relevance[c]
   * (H*W*K), spatial[c] (H*W) and value[c] = bias + sum of contributions.
   */
  decompose(maps) {
    const { h, w, k, g, c } = this.shape;
    const cells = h * w;
    if (maps.length !== cells * k) throw new Error(`maps of ${maps.length} values; the head needs ${h}x${w}x${k}`);
    const result = { contributions: [], relevance: [], spatial: [], value: [] };
    for (let cls = 0; cls < c; cls++) {
      const templateAt = this.perClass
        ? (hw, a, t) => this.cells[((hw * k + a) * g + t) * c + cls]
        : (hw, a, t) => this.cells[(hw * k + a) * g + t];
      const mixingAt = this.labelled ? (a, t) => this.mixing[(a * g + t) * c + cls] : (a, t) => this.mixing[a * g + t];
      const contributions = new Float64Array(k);
      const relevance = new Float64Array(cells * k);
      const spatial = new Float64Array(cells);
      for (let a = 0; a < k; a++) {
        // r_kg = sum_hw M_k[h, w] U_kg[h, w]; c_k = sum_g m_kg relu(r_kg)
        const weights = new Float64Array(g);
        for (let t = 0; t < g; t++) {
          let r = 0;
          for (let hw = 0; hw < cells; hw++) r += maps[hw * k + a] * templateAt(hw, a, t);
          if (r > 0) {
            contributions[a] += mixingAt(a, t) * r;
            weights[t] = mixingAt(a, t);
          }
        }
        // R_k[h, w] = M_k[h, w] * sum_g [r_kg > 0] m_kg U_kg[h, w]
        for (let hw = 0; hw < cells; hw++) {
          let cellWeight = 0;
          for (let t = 0; t < g; t++) if (weights[t] !== 0) cellWeight += weights[t] * templateAt(hw, a, t);
          const r = maps[hw * k + a] * cellWeight;
          relevance[hw * k + a] = r;
          spatial[hw] += r;
        }
      }
      result.contributions.push(contributions);
      result.relevance.push(relevance);
      result.spatial.push(spatial);
      result.value.push(this.bias[cls] + contributions.reduce((s, v) => s + v, 0));
    }
    return result;
  }
}

/** The parsed siam_model.json: names, input size, heads. Throws naming what is wrong. */
export class Sidecar {
  constructor(data) {
    const formats = FORMATS;
    if (!data || !formats.includes(data.format)) {
      throw new Error(`not a siam-keras model sidecar this page reads (format ${data && data.format}; expected one of ${formats.join(", ")})`);
    }
    this.data = data;
    this.name = data.name;
    this.attributeNames = data.attribute_names;
    this.outputNames = data.output_names;
    this.height = data.input.height;
    this.width = data.input.width;
    this.featureGrid = data.feature_grid;
    this.heads = {};
    for (const name of this.outputNames) {
      if (!data.head || !data.head[name]) throw new Error(`the sidecar has no head for the output ${name}`);
      const head = new OutputHead(name, data.head[name]);
      const { h, w, k } = head.shape;
      if (k !== this.attributeNames.length || h !== this.featureGrid[0] || w !== this.featureGrid[1]) {
        throw new Error(`the head of ${name} is ${h} x ${w} x ${k} (grid x attributes); the sidecar ` +
          `names ${this.attributeNames.length} attributes on a ${this.featureGrid.join(" x ")} grid`);
      }
      this.heads[name] = head;
    }
    const distribution = data.training_distribution;
    this.distribution = null;
    if (distribution) {
      const n = 3 * this.attributeNames.length;
      this.distribution = {
        mean: flat(distribution.mean, [n], "training_distribution.mean"),
        precision: flat(distribution.precision, [n, n], "training_distribution.precision"),
        threshold: distribution.threshold,
      };
    }
  }
}

/**
 * How far one photo's maps (H*W*K, row-major) lie from the training photos'
 * (siam_keras.runtime.training_distribution): the Mahalanobis distance of each map's
 * mean, maximum and standard deviation over the grid. {distance, threshold, flagged},
 * or null for a model that keeps no training distribution.
 */
export function outOfDistribution(sidecar, maps) {
  const found = sidecar.distribution;
  if (!found) return null;
  const k = sidecar.attributeNames.length, cells = maps.length / k;
  const features = new Float64Array(3 * k);
  for (let a = 0; a < k; a++) {
    let sum = 0, peak = -Infinity;
    for (let i = 0; i < cells; i++) { const v = maps[i * k + a]; sum += v; peak = Math.max(peak, v); }
    const mean = sum / cells;
    let spread = 0;
    for (let i = 0; i < cells; i++) spread += (maps[i * k + a] - mean) ** 2;
    features[a] = mean;
    features[k + a] = peak;
    features[2 * k + a] = Math.sqrt(spread / cells);
  }
  const n = 3 * k, offset = features.map((v, i) => v - found.mean[i]);
  let squared = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += found.precision[i * n + j] * offset[j];
    squared += offset[i] * row;
  }
  const distance = Math.sqrt(Math.max(squared, 0));
  // As in Python: a distance that is not finite (NaN maps) is flagged too.
  return { distance, threshold: found.threshold, flagged: !(distance <= found.threshold) };
}

/**
 * One image's explanation from the model's outputs ({key: typed array}) and the heads:
 * per output, the model's value(s) and contributions, their decomposition and the
 * check that they add up (relative residual, as SIAMExplanation.from_predictions).
 */
export function explain(sidecar, outputs, tolerance) {
  const maps = outputs[ATTRIBUTE_MAPS];
  const explained = {};
  for (const name of sidecar.outputNames) {
    const head = sidecar.heads[name];
    const { k, c } = head.shape;
    const split = head.decompose(maps);
    const modelValue = Array.from(outputs[name]);
    const modelContributions = outputs[contributionsKey(name)];
    // The model's contributions: (K) or (K, C) row-major.
    const contributions = Array.from({ length: c }, (_, cls) =>
      Float64Array.from({ length: k }, (_, a) => modelContributions[head.labelled ? a * c + cls : a]));
    let residual = 0;
    for (let cls = 0; cls < c; cls++) {
      const sum = head.bias[cls] + contributions[cls].reduce((s, v) => s + v, 0);
      const scale = Math.max(1, Math.abs(modelValue[cls]));
      residual = Math.max(residual, Math.abs(sum - modelValue[cls]) / scale);
      for (let a = 0; a < k; a++) {
        // The contributions recomputed from the maps, and their spatial split's totals.
        let total = 0;
        for (let hw = 0; hw < split.spatial[cls].length; hw++) total += split.relevance[cls][hw * k + a];
        residual = Math.max(residual, Math.abs(split.contributions[cls][a] - contributions[cls][a]) / scale,
                            Math.abs(total - contributions[cls][a]) / scale);
      }
    }
    const entry = { name, head, value: modelValue, contributions, split, residual, ok: residual <= tolerance };
    entry.probabilities = head.kind.probabilities(modelValue);
    entry.shown = head.kind.shown(modelValue);
    explained[name] = entry;
  }
  return explained;
}

/**
 * What one image's output shows, as siam_keras' ImageOutput: {name, value, bias,
 * contributions (K), spatial (H*W)}, of the labels `shown` (the kind's `shown`): one
 * label's terms, or what separates label `first` from label `second` (for a
 * classification output the predicted class and the runner-up), the difference of their
 * logits' terms, as siam explain's figure does (`OutputExplanation.shown`).
 * `values` (C), `contributions` (C x K) and `spatial` (C x H*W) are per label.
 */
export function imageOutput(head, values, contributions, spatial, shown = [0]) {
  const at = (c) => ({ value: values[c], bias: head.bias[c], contributions: Array.from(contributions[c]),
                       spatial: Array.from(spatial[c]) });
  const [first, second] = shown;
  if (!head.labelled) return { name: head.name, ...at(0) };
  if (second === undefined) return { name: `${head.name} = ${head.labels[first]}`, ...at(first) };
  const a = at(first), b = at(second);
  return {
    name: `${head.labels[first]} - ${head.labels[second]}`, value: a.value - b.value, bias: a.bias - b.bias,
    contributions: a.contributions.map((v, k) => v - b.contributions[k]),
    spatial: a.spatial.map((v, i) => v - b.spatial[i]),
  };
}

/**
 * What-if: the outputs with attribute maps scaled, computed from the head's weights
 * (no second model run), as SIAMExplainer.intervene. `factors` is {attribute:
 * Float64Array(H*W)} of factors >= 0 per feature cell (0 removes the attribute
 * there, 2 doubles it). Returns {output: {value: [C], contributions: [C][K],
 * spatial: [C][H*W]}} (C = 1 for a regression output).
 */
export function intervene(sidecar, maps, factors) {
  const k = sidecar.attributeNames.length;
  const edited = Float64Array.from(maps);
  for (const [name, factor] of Object.entries(factors)) {
    const a = sidecar.attributeNames.indexOf(name);
    if (a < 0) throw new Error(`unknown attribute ${name}`);
    for (let hw = 0; hw < factor.length; hw++) edited[hw * k + a] *= factor[hw];
  }
  const out = {};
  for (const name of sidecar.outputNames) {
    const split = sidecar.heads[name].decompose(edited);
    out[name] = { value: split.value, contributions: split.contributions.map((v) => Array.from(v)),
                  spatial: split.spatial };
  }
  return out;
}

/** A number with its sign, "0.00" when it rounds to zero (colours.signed_text). */
export function signedText(value, decimals = 2) {
  const text = value.toFixed(decimals);
  if (Number(text) === 0) return (0).toFixed(decimals);
  return value >= 0 ? `+${text}` : text;
}

/** The colour of a contribution: its sign's, grey when negligible or shown as zero. */
export function signColour(style, value, largest, decimals = 2) {
  if (largest !== undefined && Math.abs(value) <= style.negligible * largest) return style.none;
  if (Number(value.toFixed(decimals)) === 0) return style.none;
  return value >= 0 ? style.positive : style.negative;
}
