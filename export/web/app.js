// The page: a photo in, the SIAM model run by LiteRT.js, and its explanation out:
// the prediction as bias plus contributions, where it comes from (the overlay), the
// maps of the attributes that matter, and what-if sliders that rescale or remove an
// attribute (everywhere, or where the brush paints) from the head's weights alone.
// With ?check, the page instead checks itself against the export's test vectors.

import { loadAndCompile, loadLiteRt, Tensor } from "./litert/core/index.js";
import { PhotoError, readPhoto } from "./pixels.js";
import {
  ATTRIBUTE_MAPS, ATTRIBUTE_SCORES, PIXELS_INPUT, PIXELS_SIGNATURE, Sidecar, contributionsKey, explain, intervene,
  outOfDistribution,
} from "./siam.js";
import { drawExplanation } from "./view.js";

const $ = (id) => document.getElementById(id);

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
  const runner = state.model.signatures[PIXELS_SIGNATURE];
  if (!runner) throw new Error(`${state.page.model} has no ${PIXELS_SIGNATURE} signature`);
  const { height, width, outputNames } = state.sidecar;
  const inputs = runner.getInputDetails().map((d) => `${d.name} [${Array.from(Object.values(d.shape))}]`);
  const outputs = runner.getOutputDetails().map((d) => d.name);
  const expected = [ATTRIBUTE_MAPS, ATTRIBUTE_SCORES, ...outputNames, ...outputNames.map(contributionsKey)];
  const missing = expected.filter((n) => !outputs.includes(n));
  if (missing.length || inputs.join() !== `${PIXELS_INPUT} [1,${height},${width},3]`) {
    throw new Error(`${state.page.model} takes ${inputs.join(", ")} and returns ${outputs.join(", ")}; ` +
      `its sidecar describes ${PIXELS_INPUT} [1,${height},${width},3] and ${expected.join(", ")}. ` +
      "The model and siam_model.json must come from the same export.");
  }
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
  const request = (state.requests = (state.requests || 0) + 1); // the last photo chosen wins
  const { height, width } = state.sidecar;
  const started = performance.now();
  status(`Explaining ${file.name}…`);
  let photo, outputs, explained, decoded, ran;
  try {
    photo = await readPhoto(file, width, height, state.page.max_pixels);
    decoded = performance.now();
    outputs = await run(photo.pixels);
    ran = performance.now();
    explained = explain(state.sidecar, outputs, state.page.tolerance);
  } catch (error) {
    if (request === state.requests) {
      // Nothing of an earlier photo stays on show as if it were this one's.
      state.result = null;
      $("result").hidden = true;
      delete $("result").dataset.file;
      status(`${file.name}: not explained`, "error");
      showError(error instanceof PhotoError ? error.message
        : `${file.name} could not be explained: ${error.message}`);
    }
    return;
  }
  if (request !== state.requests) return;
  const done = performance.now();
  state.photo = photo;
  state.result = { file: file.name, outputs, explained, pixels: photo.rgb,
                   outOfDistribution: outOfDistribution(state.sidecar, outputs[ATTRIBUTE_MAPS]) };
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

/** The attributes the region menu names: one, or every attribute ("*"). */
function regionTargets() {
  const attribute = $("region-attribute").value;
  return attribute === "*" ? state.sidecar.attributeNames : [attribute];
}

function removeRegion(region) {
  const [h, w] = state.sidecar.featureGrid;
  for (const name of regionTargets()) {
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
  let changed = false;
  for (const name of regionTargets()) {
    if (!state.whatIf.removed[name][y * w + x]) { state.whatIf.removed[name][y * w + x] = 1; changed = true; }
  }
  if (changed) render();
}

// ---- drawing ------------------------------------------------------------------------

function selectedOutput() { return $("output").value || state.sidecar.outputNames[0]; }

function render() {
  const { sidecar, result } = state;
  const name = selectedOutput();
  const factors = currentFactors();
  const edits = Object.keys(factors).length ? intervene(sidecar, result.outputs[ATTRIBUTE_MAPS], factors) : null;
  state.result.whatIf = edits && { factors, outputs: edits };
  const removed = new Uint8Array(cells());
  for (const n of regionTargets()) {
    state.whatIf.removed[n].forEach((r, i) => { if (r) removed[i] = 1; });
  }
  drawExplanation({ sidecar, style: state.page.style, photo: state.photo.photo, outputs: result.outputs,
                    entry: result.explained[name], whatIf: edits && edits[name], removed,
                    file: result.file, unusual: result.outOfDistribution });
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
    button.addEventListener("click", () => state.result && removeRegion(button.dataset.region));
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
    const explained = explain(state.sidecar, outputs, Infinity);
    for (const [key, values] of Object.entries(expected)) {
      const got = key.startsWith("spatial_contributions/")
        ? interleaved(explained[key.split("/")[1]].split.spatial)
        : Array.from(outputs[key]);
      const flatExpected = values.flat(Infinity);
      let scale = 1, largest = got.length === flatExpected.length ? 0 : Infinity;
      for (const e of flatExpected) scale = Math.max(scale, Math.abs(e));
      flatExpected.forEach((e, i) => { largest = Math.max(largest, Math.abs(got[i] - e)); });
      const error = Number.isNaN(largest) ? Infinity : largest / scale;
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
