// The explanation's pictures, in the colours and words of siam explain's figures
// (siam_keras.plotting.figure_pixels): the spatial overlay (RdBu_r, opacity growing as
// the square root of |contribution|), the attribute maps (magma over the grey photo)
// and the bars of the contributions (red raises the output, blue lowers it). The
// colour tables come from page.json, written by the export from the same code.

import { signColour, signedText } from "./siam.js";

const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;

/** Bilinear upsampling with half-pixel centres, edges clamped (runtime/upsampling.py). */
function interpolation(inSize, outSize) {
  const lower = new Int32Array(outSize), upper = new Int32Array(outSize), weight = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = Math.min(Math.max((i + 0.5) * (inSize / outSize) - 0.5, 0), inSize - 1);
    lower[i] = Math.floor(x);
    upper[i] = Math.min(lower[i] + 1, inSize - 1);
    weight[i] = x - lower[i];
  }
  return { lower, upper, weight };
}

/** values (h*w, channel `a` of `stride`) -> Float64Array(height*width). */
export function upsample(values, h, w, height, width, stride = 1, a = 0) {
  const rows = interpolation(h, height), cols = interpolation(w, width);
  const out = new Float64Array(height * width);
  const at = (y, x) => values[(y * w + x) * stride + a];
  for (let i = 0; i < height; i++) {
    const y0 = rows.lower[i], y1 = rows.upper[i], wy = rows.weight[i];
    for (let j = 0; j < width; j++) {
      const x0 = cols.lower[j], x1 = cols.upper[j], wx = cols.weight[j];
      const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
      const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
      out[i * width + j] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

function colourAt(table, value, low, high) {
  const n = table.length;
  const position = Math.round((value - low) * ((n - 1) / (high - low)));
  return table[Math.min(n - 1, Math.max(0, Number.isFinite(position) ? position : 0))];
}

/**
 * Draws the photo with its longest side `maxSide` px into `canvas` and returns its
 * pixels (for blending). As in siam explain's figures, a photo 3 times smaller or
 * more keeps square pixels (a 64 px training image stays legible as such).
 */
export function drawPhoto(canvas, photo, maxSide) {
  const scale = maxSide / Math.max(photo.width, photo.height);
  canvas.width = Math.max(1, Math.round(photo.width * scale));
  canvas.height = Math.max(1, Math.round(photo.height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingEnabled = scale < 3;
  context.imageSmoothingQuality = "high";
  context.drawImage(photo, 0, 0, canvas.width, canvas.height);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

/**
 * The photo under the signed spatial contributions (h*w values): opaque where they are
 * large, clear near 0, on the colour scale +-limit. `removed` (h*w, optional) marks
 * feature cells where an attribute was removed by the brush (drawn hatched).
 */
export function drawOverlay(canvas, photoPixels, spatial, grid, limit, style, removed) {
  const [h, w] = grid;
  const { width, height } = photoPixels;
  const values = upsample(spatial, h, w, height, width);
  const image = new ImageData(width, height);
  const src = photoPixels.data, out = image.data;
  for (let i = 0; i < width * height; i++) {
    const v = values[i];
    const alpha = limit > 0 ? style.overlay_opacity * Math.sqrt(Math.min(Math.abs(v) / limit, 1)) : 0;
    const colour = colourAt(style.diverging, v, -limit, limit);
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round(src[i * 4 + c] * (1 - alpha) + colour[c] * alpha);
    out[i * 4 + 3] = 255;
  }
  const context = canvas.getContext("2d");
  canvas.width = width;
  canvas.height = height;
  context.putImageData(image, 0, 0);
  if (removed) {
    context.strokeStyle = "rgba(0,0,0,0.55)";
    context.lineWidth = 1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      if (!removed[y * w + x]) continue;
      const left = (x * width) / w, top = (y * height) / h, cw = width / w, ch = height / h;
      context.strokeRect(left + 0.5, top + 0.5, cw - 1, ch - 1);
      context.beginPath();
      context.moveTo(left, top + ch); context.lineTo(left + cw, top);
      context.stroke();
    }
  }
}

/** A colour strip of `table` with its tick labels, as a horizontal bar below a panel. */
export function colourBar(element, table, low, high, label) {
  const stops = table.filter((_, i) => i % 16 === 0 || i === table.length - 1)
    .map((c, i, all) => `${rgb(c)} ${((100 * i) / (all.length - 1)).toFixed(1)}%`);
  element.innerHTML = "";
  const strip = document.createElement("div");
  strip.className = "strip";
  strip.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
  const ticks = document.createElement("div");
  ticks.className = "ticks";
  for (const value of [low, (low + high) / 2, high]) {
    const tick = document.createElement("span");
    tick.textContent = Math.abs(value) < 1e-12 ? "0" : value.toPrecision(2);
    ticks.append(tick);
  }
  const caption = document.createElement("div");
  caption.className = "caption";
  caption.textContent = label;
  element.append(strip, ticks, caption);
}

/** One attribute's map over the grey photo, magma over 0..peak, framed by its sign. */
export function drawThumbnail(canvas, greyPixels, maps, grid, k, a, peak, style) {
  const [h, w] = grid;
  const { width, height } = greyPixels;
  const values = upsample(maps, h, w, height, width, k, a);
  const image = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const colour = colourAt(style.maps, values[i], 0, peak > 0 ? peak : 1);
    const grey = greyPixels.data[i];
    for (let c = 0; c < 3; c++) {
      image.data[i * 4 + c] = Math.round(grey * (1 - style.map_opacity) + colour[c] * style.map_opacity);
    }
    image.data[i * 4 + 3] = 255;
  }
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(image, 0, 0);
}

/** The photo's grey levels at display size ({data: Float64Array, width, height}). */
export function greyOf(photoPixels) {
  const { width, height, data } = photoPixels;
  const grey = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) grey[i] = (data[i * 4] + data[i * 4 + 1] + data[i * 4 + 2]) / 3;
  return { data: grey, width, height };
}

/**
 * The bars: bias, then each shown attribute's contribution (sorted, largest first),
 * then the output. `before` (optional, same order) draws the values before a what-if
 * as outlines. Every number is also in the element's data-value, unrounded.
 */
export function drawBars(element, rows, style, { output, bias, total, before, unit = "" }) {
  const largest = Math.max(...rows.map((r) => Math.abs(r.value)), ...(before || []).map(Math.abs), 1e-12);
  element.innerHTML = "";
  const table = document.createElement("div");
  table.className = "bars";
  const line = (label, value, className, extra = {}) => {
    const row = document.createElement("div");
    row.className = `bar-row ${className}`;
    const name = document.createElement("span");
    name.className = "bar-name";
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "bar-track";
    const text = document.createElement("span");
    text.className = "bar-value";
    row.append(name, track, text);
    return { row, track, text, extra };
  };
  const head = line("bias", bias, "bias");
  head.text.textContent = bias.toFixed(3);
  head.row.dataset.value = String(bias);
  table.append(head.row);
  rows.forEach((r, n) => {
    const { row, track, text } = line(r.name, r.value, "attribute");
    const colour = signColour(style, r.value, largest);
    const bar = document.createElement("span");
    bar.className = "bar";
    const share = (50 * Math.abs(r.value)) / largest;
    bar.style.width = `${share}%`;
    bar.style.left = r.value >= 0 ? "50%" : `${50 - share}%`;
    bar.style.background = rgb(colour);
    track.append(bar);
    if (before) {
      const ghost = document.createElement("span");
      ghost.className = "bar ghost";
      const was = (50 * Math.abs(before[n])) / largest;
      ghost.style.width = `${was}%`;
      ghost.style.left = before[n] >= 0 ? "50%" : `${50 - was}%`;
      track.append(ghost);
    }
    text.textContent = signedText(r.value);
    text.style.color = rgb(colour);
    row.dataset.attribute = r.name;
    row.dataset.value = String(r.value);
    table.append(row);
  });
  const foot = line(`= ${output}`, total, "total");
  foot.text.textContent = `${total.toFixed(3)}${unit}`;
  foot.row.dataset.value = String(total);
  table.append(foot.row);
  element.append(table);
}
