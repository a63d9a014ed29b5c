// One explained photo on the page: the prediction in words, the bars, the overlay and
// the attribute thumbnails, for the selected output, before or after a what-if edit.
// Every number shown is also in a data-value attribute, unrounded (for scripts and tests).

import { colourBar, drawBars, drawOverlay, drawPhoto, drawThumbnail, greyOf } from "./draw.js";
import { ATTRIBUTE_MAPS, ATTRIBUTE_SCORES, imageOutput, signColour, signedText } from "./siam.js";

const $ = (id) => document.getElementById(id);
const DISPLAY_SIDE = 480;
const THUMBNAIL_SIDE = 112;
const MAX_THUMBNAILS = 8;

function paragraph(className, text, data) {
  const element = document.createElement("p");
  element.className = className;
  element.textContent = text;
  Object.assign(element.dataset, data);
  return element;
}

/** Which photo it is, whether it is unlike the training photos, the prediction in words,
 * and what the edit changes. */
function headline(entry, whatIf, file, unusual) {
  const { head } = entry;
  const lines = [paragraph("photo-name", file, { file })];
  if (unusual) {
    const warning = paragraph("out-of-distribution",
      unusual.flagged ? `Out of distribution: unlike the training photos (distance ` +
        `${unusual.distance.toFixed(1)} > ${unusual.threshold.toFixed(1)}); the explanation ` +
        "describes a photo unlike any the model learned from." : "",
      { flagged: String(unusual.flagged), distance: String(unusual.distance),
        threshold: String(unusual.threshold) });
    warning.hidden = !unusual.flagged;
    lines.push(warning);
  }
  if (head.labelled) {  // the kind words it (kinds.js)
    lines.push(paragraph("headline", ...head.kind.headline(head, entry)));
    if (whatIf) lines.push(paragraph("what-if", ...head.kind.whatIf(head, entry, whatIf.value)));
  } else {
    const value = entry.value[0];
    const added = entry.contributions[0].reduce((s, v) => s + v, 0);
    lines.push(paragraph("headline", `${entry.name} ${value.toFixed(3)} = bias ${head.bias[0].toFixed(3)} ` +
      `${signedText(added, 3)} from ${head.shape.k} attributes`, { output: entry.name, value: String(value) }));
    if (whatIf) {
      const after = whatIf.value[0];
      lines.push(paragraph("what-if", `What if: ${entry.name} ${value.toFixed(3)} → ${after.toFixed(3)} ` +
        `(${signedText(after - value, 3)})`, { output: entry.name, value: String(after), values: JSON.stringify(whatIf.value) }));
    }
  }
  lines[lines.length - 1].id = whatIf ? "what-if-result" : "";
  $("prediction").replaceChildren(...lines);
}

/**
 * Draws `entry` (an output of siam.explain) of the photo, with `whatIf` ({value,
 * contributions, spatial} per class, from siam.intervene) when an edit is active and
 * `removed` (H*W, cells the brush or a region removed) for the overlay's hatching;
 * `file` names the photo, `unusual` is its outOfDistribution (siam.js) or null.
 */
export function drawExplanation({ sidecar, style, photo, outputs, entry, whatIf, removed, file, unusual }) {
  const { head } = entry;
  const number = imageOutput(head, entry.value, entry.contributions, entry.split.spatial, entry.shown);
  const after = whatIf && imageOutput(head, whatIf.value, whatIf.contributions, whatIf.spatial, entry.shown);
  headline(entry, whatIf, file, unusual);

  // Bars in order of |contribution|, as siam explain's figure: bias + bars = the total.
  const names = sidecar.attributeNames;
  const order = Array.from(names.keys()).sort((a, b) => Math.abs(number.contributions[b]) - Math.abs(number.contributions[a]));
  const shown = after ?? number;
  drawBars($("bars"), order.map((a) => ({ name: names[a], value: shown.contributions[a] })), style, {
    output: number.name, bias: number.bias, total: shown.value,
    before: after ? order.map((a) => number.contributions[a]) : undefined });
  $("bars-title").textContent = head.kind.barsTitle?.(number) ?? `Contribution to ${number.name}`;

  // Where it comes from: the spatial split (after the edit), on the original's scale.
  const photoPixels = drawPhoto(document.createElement("canvas"), photo, DISPLAY_SIDE);
  const limit = Math.max(1e-6, ...number.spatial.map(Math.abs));
  drawOverlay($("photo"), photoPixels, shown.spatial, sidecar.featureGrid, limit, style, removed);
  colourBar($("overlay-scale"), style.diverging, -limit, limit, `contribution to ${number.name} per feature cell`);

  // The maps of the attributes that matter most, on one colour scale.
  const maps = outputs[ATTRIBUTE_MAPS], k = names.length, cells = maps.length / k;
  const top = order.slice(0, MAX_THUMBNAILS);
  let peak = 0;
  for (const a of top) for (let i = 0; i < cells; i++) peak = Math.max(peak, maps[i * k + a]);
  const grey = greyOf(drawPhoto(document.createElement("canvas"), photo, THUMBNAIL_SIDE));
  const largest = Math.max(1e-12, ...number.contributions.map(Math.abs));
  const figures = top.map((a) => {
    const c = number.contributions[a], colour = `rgb(${signColour(style, c, largest).join(",")})`;
    const figure = document.createElement("figure");
    figure.className = "thumbnail";
    figure.dataset.attribute = names[a];
    const title = document.createElement("figcaption");
    title.textContent = `${names[a]} ${signedText(c)}`;
    title.style.color = colour;
    const canvas = document.createElement("canvas");
    drawThumbnail(canvas, grey, maps, sidecar.featureGrid, k, a, peak, style);
    canvas.style.border = `${Math.max(1, Math.round(1 + (3 * Math.abs(c)) / largest))}px solid ${colour}`;
    const score = document.createElement("small");
    score.textContent = `score ${outputs[ATTRIBUTE_SCORES][a].toFixed(3)}`;
    figure.append(title, canvas, score);
    return figure;
  });
  $("thumbnails").replaceChildren(...figures);
  colourBar($("map-scale"), style.maps, 0, peak, "attribute map (0 = absent)");
}
