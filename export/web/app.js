// The page: a photo in, the SIAM model run by LiteRT.js, and its explanation out:
// the prediction as bias plus contributions, where it comes from (the overlay), the
// maps of the attributes that matter, and what-if sliders that rescale or remove an
// attribute (everywhere, or where the brush paints) from the head's weights alone.
// With ?check, the page instead checks itself against the export's test vectors.

import { loadAndCompile, loadLiteRt, Tensor } from "./litert/core/index.js";
import { PhotoError, readPhoto } from "./pixels.js";
import {
  ATTRIBUTE_MAPS, PIXELS_INPUT, PIXELS_SIGNATURE, Sidecar, explain, intervene, shownContributions,
  signColour, signedText,
} from "./siam.js";
import { colourBar, drawBars, drawOverlay, drawPhoto, drawThumbnail, greyOf } from "./draw.js";

const $ = (id) => document.getElementById(id);
const DISPLAY_SIDE = 480;
const THUMBNAIL_SIDE = 112;
const MAX_THUMBNAILS = 8;

/** What the page knows: the model and, after a photo, its outputs and the what-if state. */
const state = { ready: false, sidecar: null, model: null, page: null, photo: null, result: null };
window.siamPage = state; // for scripts and tests: the numbers behind what is shown

function status(text, kind = "info") {
  const element = $("status");
  element.textContent = text;
  element.dataset.kind = kind;
}

function showError(text) {
  const element = $("error");
  element.textContent = text;
  element.hidden = !text;
}

async function fetchJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function load() {
  state.page = await fetchJson("page.json");
  state.sidecar = new Sidecar(await fetchJson(state.page.sidecar));
  await loadLiteRt("./litert/");
  state.model = await loadAndCompile(state.page.model, { accelerator: "wasm" });
  const outputs = state.model.signatures[PIXELS_SIGNATURE].getOutputDetails().map((d) => d.name);
  const missing = [ATTRIBUTE_MAPS, ...state.sidecar.outputNames].filter((n) => !outputs.includes(n));
  if (missing.length) throw new Error(`${state.page.model} lacks the outputs ${missing.join(", ")} its sidecar names`);
}

/** The model's outputs for H*W*3 pixels: {name: Float32Array}, found by signature name. */
async function run(pixels) {
  const { height, width } = state.sidecar;
  const input = new Tensor(pixels, [1, height, width, 3]);
  const results = await state.model.run(PIXELS_SIGNATURE, { [PIXELS_INPUT]: input });
  input.delete();
  const outputs = {};
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = Float32Array.from(tensor.toTypedArray());
    tensor.delete();
  }
  return outputs;
}

// ---- one photo ----------------------------------------------------------------------

async function explainFile(file) {
  showError("");
  if (!state.ready) return showError("The model is still loading; try again in a moment.");
  const { height, width } = state.sidecar;
  const started = performance.now();
  let photo;
  try {
    photo = await readPhoto(file, width, height, state.page.max_pixels);
  } catch (error) {
    showError(error instanceof PhotoError ? error.message : `${file.name} could not be read: ${error.message}`);
    return;
  }
  const decoded = performance.now();
  const outputs = await run(photo.pixels);
  const ran = performance.now();
  const explained = explain(state.sidecar, outputs, state.page.tolerance);
  const done = performance.now();
  state.photo = photo;
  state.result = { file: file.name, outputs, explained, pixels: photo.rgb };
  resetWhatIf();
  $("result").hidden = false;
  render();
  const drawn = performance.now();
  const t = state.result.timing = { decode: decoded - started, model: ran - decoded,
    explanation: done - ran, drawing: drawn - done, total: drawn - started };
  status(`${file.name}: explained in ${t.total.toFixed(0)} ms (photo ${t.decode.toFixed(0)}, model ` +
         `${t.model.toFixed(1)}, explanation ${t.explanation.toFixed(1)}, drawing ${t.drawing.toFixed(0)})`);
  const bad = Object.values(explained).filter((e) => !e.ok);
  if (bad.length) {
    showError(`The numbers of ${bad.map((e) => e.name).join(", ")} do not add up (relative residual ` +
      `${Math.max(...bad.map((e) => e.residual)).toExponential(2)} > ${state.page.tolerance}): this model file and ` +
      "siam_model.json do not belong together.");
  }
  $("result").dataset.file = file.name;
  document.body.dataset.explained = String((Number(document.body.dataset.explained) || 0) + 1);
}

// ---- what-if ------------------------------------------------------------------------

function cells() { return state.sidecar.featureGrid[0] * state.sidecar.featureGrid[1]; }

function resetWhatIf() {
  const names = state.sidecar.attributeNames;
  state.whatIf = { scale: Object.fromEntries(names.map((n) => [n, 1])),
                   removed: Object.fromEntries(names.map((n) => [n, new Uint8Array(cells())])) };
  for (const input of document.querySelectorAll("#sliders input")) {
    input.value = "1";
    input.nextElementSibling.textContent = "×1.00";
  }
}

/** {attribute: per-cell factors} of the current sliders and brush; {} when nothing changed. */
function currentFactors() {
  const factors = {};
  for (const name of state.sidecar.attributeNames) {
    const scale = state.whatIf.scale[name];
    const removed = state.whatIf.removed[name];
    if (scale === 1 && !removed.some((v) => v)) continue;
    factors[name] = Float64Array.from(removed, (r) => (r ? 0 : scale));
  }
  return factors;
}

function removeRegion(attribute, region) {
  const [h, w] = state.sidecar.featureGrid;
  const targets = attribute === "*" ? state.sidecar.attributeNames : [attribute];
  for (const name of targets) {
    const removed = state.whatIf.removed[name];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const inside = { left: x < w / 2, right: x >= w / 2, top: y < h / 2, bottom: y >= h / 2, all: true }[region];
      if (inside) removed[y * w + x] = 1;
    }
  }
  render();
}

function paintAt(event) {
  const canvas = $("photo");
  const box = canvas.getBoundingClientRect();
  const [h, w] = state.sidecar.featureGrid;
  const x = Math.floor(((event.clientX - box.left) / box.width) * w);
  const y = Math.floor(((event.clientY - box.top) / box.height) * h);
  if (x < 0 || y < 0 || x >= w || y >= h) return;
  const attribute = $("region-attribute").value;
  const targets = attribute === "*" ? state.sidecar.attributeNames : [attribute];
  let changed = false;
  for (const name of targets) {
    if (!state.whatIf.removed[name][y * w + x]) { state.whatIf.removed[name][y * w + x] = 1; changed = true; }
  }
  if (changed) render();
}

// ---- drawing ------------------------------------------------------------------------

function selectedOutput() { return $("output").value || state.sidecar.outputNames[0]; }

function render() {
  const { sidecar, result } = state;
  const name = selectedOutput();
  const entry = result.explained[name];
  const head = entry.head;
  const cls = head.isClassification ? entry.predicted : 0;
  const factors = currentFactors();
  const changed = Object.keys(factors).length > 0;
  const whatIf = changed ? intervene(sidecar, result.outputs[ATTRIBUTE_MAPS], factors) : null;
  state.result.whatIf = whatIf && { factors, outputs: whatIf };

  // The prediction, in words.
  const prediction = $("prediction");
  prediction.innerHTML = "";
  const value = entry.value[cls];
  const line = document.createElement("p");
  line.className = "headline";
  line.dataset.output = name;
  line.dataset.value = String(value);
  if (head.isClassification) {
    const p = entry.probabilities;
    line.textContent = `${name}: ${head.classes[entry.predicted]} (${(100 * p[entry.predicted]).toFixed(1)}%), ` +
      `runner-up ${head.classes[entry.runnerUp]} (${(100 * p[entry.runnerUp]).toFixed(1)}%)`;
    line.dataset.predicted = head.classes[entry.predicted];
    line.dataset.runnerUp = head.classes[entry.runnerUp];
    line.dataset.logits = JSON.stringify(entry.value);
  } else {
    const added = entry.contributions[0].reduce((s, v) => s + v, 0);
    line.textContent = `${name} ${value.toFixed(3)} = bias ${entry.head.bias[0].toFixed(3)} ` +
      `${signedText(added, 3)} from ${head.shape.k} attributes`;
  }
  prediction.append(line);
  if (whatIf) {
    const after = whatIf[name].value[cls];
    const what = document.createElement("p");
    what.className = "what-if";
    what.id = "what-if-result";
    what.dataset.output = name;
    what.dataset.value = String(after);
    what.dataset.values = JSON.stringify(whatIf[name].value);
    what.textContent = `What if: ${name} ${value.toFixed(3)} → ${after.toFixed(3)} (${signedText(after - value, 3)})`;
    prediction.append(what);
  }

  // The bars: contributions sorted by value (classification: to the predicted class,
  // beyond each attribute's mean over the classes).
  const names = sidecar.attributeNames;
  const shown = shownContributions(entry, cls);
  const order = Array.from(shown.keys()).sort((a, b) => shown[b] - shown[a]);
  let rows = order.map((a) => ({ name: names[a], value: shown[a] }));
  let before;
  if (whatIf) {
    const counter = whatIf[name].contributions;
    const after = head.isClassification
      ? Array.from({ length: head.shape.k }, (_, a) => counter[cls][a] - counter.reduce((s, c) => s + c[a], 0) / head.shape.c)
      : counter[0];
    before = order.map((a) => shown[a]);
    rows = order.map((a) => ({ name: names[a], value: after[a] }));
  }
  const total = whatIf ? whatIf[name].value[cls] : value;
  drawBars($("bars"), rows, state.page.style, {
    output: head.isClassification ? `${name} logit of ${head.classes[cls]}` : name,
    bias: head.bias[cls], total, before });
  $("bars-title").textContent = head.isClassification
    ? `Contribution to ${head.classes[cls]}, beyond the attribute's mean over the classes`
    : `Contribution to ${name}`;

  // Where it comes from: the spatial split of the (what-if) output.
  const photoPixels = drawPhoto(document.createElement("canvas"), state.photo.photo, DISPLAY_SIDE);
  const spatial = whatIf
    ? sidecar.heads[name].decompose(editedMaps(factors)).spatial[cls]
    : entry.split.spatial[cls];
  const limit = Math.max(...entry.split.spatial[cls].map(Math.abs), 1e-12);
  const removedAny = new Uint8Array(cells());
  const brushed = $("region-attribute").value;
  for (const n of brushed === "*" ? names : [brushed]) {
    state.whatIf.removed[n].forEach((r, i) => { if (r) removedAny[i] = 1; });
  }
  drawOverlay($("photo"), photoPixels, spatial, sidecar.featureGrid, limit, state.page.style, removedAny);
  colourBar($("overlay-scale"), state.page.style.diverging, -limit, limit,
            `contribution to ${name} per feature cell`);

  // The maps of the attributes that matter most (by |shown contribution|).
  const maps = result.outputs[ATTRIBUTE_MAPS];
  const k = names.length;
  const top = Array.from(shown.keys()).sort((a, b) => Math.abs(shown[b]) - Math.abs(shown[a]))
    .slice(0, MAX_THUMBNAILS);
  let peak = 0;
  for (const a of top) for (let i = 0; i < cells(); i++) peak = Math.max(peak, maps[i * k + a]);
  const grey = greyOf(drawPhoto(document.createElement("canvas"), state.photo.photo, THUMBNAIL_SIDE));
  const largest = Math.max(...shown.map(Math.abs), 1e-12);
  const thumbnails = $("thumbnails");
  thumbnails.innerHTML = "";
  for (const a of top) {
    const figure = document.createElement("figure");
    figure.className = "thumbnail";
    figure.dataset.attribute = names[a];
    const title = document.createElement("figcaption");
    title.textContent = `${names[a]} ${signedText(shown[a])}`;
    title.style.color = `rgb(${signColour(state.page.style, shown[a], largest).join(",")})`;
    const canvas = document.createElement("canvas");
    drawThumbnail(canvas, grey, maps, sidecar.featureGrid, k, a, peak, state.page.style);
    const frame = Math.max(1, Math.round(1 + 3 * Math.abs(shown[a]) / largest));
    canvas.style.border = `${frame}px solid rgb(${signColour(state.page.style, shown[a], largest).join(",")})`;
    const score = document.createElement("small");
    const scores = result.outputs.attribute_scores;
    score.textContent = `score ${scores[a].toFixed(3)}`;
    figure.append(title, canvas, score);
    thumbnails.append(figure);
  }
  colourBar($("map-scale"), state.page.style.maps, 0, peak, "attribute map (0 = absent)");
}

function editedMaps(factors) {
  const maps = Float64Array.from(state.result.outputs[ATTRIBUTE_MAPS]);
  const k = state.sidecar.attributeNames.length;
  for (const [name, factor] of Object.entries(factors)) {
    const a = state.sidecar.attributeNames.indexOf(name);
    for (let i = 0; i < factor.length; i++) maps[i * k + a] *= factor[i];
  }
  return maps;
}

// ---- controls -----------------------------------------------------------------------

function buildControls() {
  const { sidecar } = state;
  const outputSelect = $("output");
  for (const name of sidecar.outputNames) outputSelect.append(new Option(name, name));
  outputSelect.hidden = sidecar.outputNames.length < 2;
  outputSelect.addEventListener("change", () => state.result && render());
  const sliders = $("sliders");
  for (const name of sidecar.attributeNames) {
    const label = document.createElement("label");
    label.className = "slider";
    const text = document.createElement("span");
    text.textContent = name;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: "0", max: "2", step: "0.05", value: "1" });
    input.dataset.attribute = name;
    input.setAttribute("aria-label", `scale ${name}'s map`);
    const shown = document.createElement("output");
    shown.textContent = "×1.00";
    input.addEventListener("input", () => {
      state.whatIf.scale[name] = Number(input.value);
      shown.textContent = `×${Number(input.value).toFixed(2)}`;
      if (state.result) render();
    });
    label.append(text, input, shown);
    sliders.append(label);
  }
  const regionAttribute = $("region-attribute");
  regionAttribute.append(new Option("every attribute", "*"));
  for (const name of sidecar.attributeNames) regionAttribute.append(new Option(name, name));
  regionAttribute.addEventListener("change", () => state.result && render());
  for (const button of document.querySelectorAll("[data-region]")) {
    button.addEventListener("click", () => state.result && removeRegion(regionAttribute.value, button.dataset.region));
  }
  $("reset").addEventListener("click", () => { if (state.result) { resetWhatIf(); render(); } });
  const canvas = $("photo");
  let painting = false;
  canvas.addEventListener("pointerdown", (e) => {
    if (!state.result || !$("brush").checked) return;
    painting = true;
    canvas.setPointerCapture(e.pointerId);
    paintAt(e);
  });
  canvas.addEventListener("pointermove", (e) => painting && paintAt(e));
  canvas.addEventListener("pointerup", () => { painting = false; });
  for (const id of ["camera", "picker"]) {
    $(id).addEventListener("change", (e) => {
      const file = e.target.files[0];
      e.target.value = ""; // the same file again still explains
      if (file) explainFile(file);
    });
  }
  document.body.addEventListener("dragover", (e) => e.preventDefault());
  document.body.addEventListener("drop", (e) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) explainFile(file);
  });
}

// ---- self-check against the test vectors -----------------------------------------------

/** Per-class (H*W) arrays -> one (H, W, C) row-major array, as Python's (H, W[, C]). */
function interleaved(perClass) {
  const c = perClass.length, cellCount = perClass[0].length;
  return Array.from({ length: cellCount * c }, (_, i) => perClass[i % c][Math.floor(i / c)]);
}

async function selfCheck() {
  const vectors = await fetchJson(state.page.test_vectors);
  const variant = vectors.variants[state.page.variant];
  if (!variant) throw new Error(`test_vectors.json has no expected values for ${state.page.variant}`);
  const rows = [];
  let worst = 0;
  for (const [n, image] of vectors.images.entries()) {
    const blob = await (await fetch(new URL(image.file, new URL(state.page.test_vectors, location.href)))).blob();
    const photo = await readPhoto(new File([blob], image.file), state.sidecar.width, state.sidecar.height, Infinity);
    const outputs = await run(photo.pixels);
    const expected = variant.expected[n];
    for (const [key, values] of Object.entries(expected)) {
      const got = key.startsWith("spatial_contributions/")
        ? interleaved(explain(state.sidecar, outputs, Infinity)[key.split("/")[1]].split.spatial)
        : Array.from(outputs[key]);
      const flatExpected = values.flat(Infinity);
      const scale = Math.max(1, ...flatExpected.map(Math.abs));
      const error = Math.max(...flatExpected.map((e, i) => Math.abs(got[i] - e))) / scale;
      worst = Math.max(worst, error);
      rows.push({ image: image.file, key, error, ok: error <= variant.tolerance });
    }
  }
  const passed = rows.every((r) => r.ok);
  const table = $("check");
  table.hidden = false;
  table.replaceChildren();
  for (const cells of [["image", "tensor", "relative error", ""],
                       ...rows.map((r) => [r.image, r.key, r.error.toExponential(2), r.ok ? "ok" : "FAILED"])]) {
    const row = table.insertRow();
    for (const text of cells) row.insertCell().textContent = text;
  }
  status(`Test vectors of ${state.page.variant}: ${passed ? "passed" : "FAILED"} (largest relative error ` +
         `${worst.toExponential(2)}, tolerance ${variant.tolerance})`, passed ? "info" : "error");
  document.body.dataset.check = passed ? "passed" : "failed";
  document.body.dataset.checkWorst = String(worst);
}

async function main() {
  status("Loading the model…");
  try {
    await load();
  } catch (error) {
    status(`The model could not be loaded: ${error.message}`, "error");
    document.body.dataset.ready = "failed";
    return;
  }
  $("title").textContent = `${state.sidecar.name}: explained in the browser`;
  $("model-info").textContent = `${state.page.model} (${state.page.variant}), ${state.sidecar.width} x ` +
    `${state.sidecar.height} px input, ${state.sidecar.attributeNames.length} attributes, outputs ` +
    `${state.sidecar.outputNames.join(", ")}`;
  buildControls();
  state.ready = true;
  document.body.dataset.ready = "true";
  status("Ready: take or choose a photo. Nothing leaves this device.");
  if (new URLSearchParams(location.search).has("check")) {
    try { await selfCheck(); } catch (error) {
      status(`The self-check could not run: ${error.message}`, "error");
      document.body.dataset.check = "error";
    }
  }
}

main();
