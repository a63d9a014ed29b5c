// From a photo file to the model's pixels, as siam_keras.runtime.images does: the
// upright RGB photo (EXIF orientation applied, transparency over white), the whole
// photo resized (no crop) to the input size with Pillow's antialiased bilinear filter,
// raw values 0-255 as float32. Pillow's filter is reimplemented here exactly (its
// fixed-point arithmetic included): a PNG gives the same pixels. A JPEG that Pillow
// decodes at 1/2, 1/4 or 1/8 scale (draft mode, libjpeg's DCT scaling) is reduced here
// by averaging blocks of the browser's full decode, which is close, not bit for bit
// (README: "The page and siam_keras").

/** Why a file is not explained: shown to the user as is. */
export class PhotoError extends Error {}

const PRECISION_BITS = 32 - 8 - 2;
/** The largest canvas every phone browser draws (Safari on iOS: 16.7 MP). */
const MAX_CANVAS_PIXELS = 16_000_000;

/** Pillow's precompute_coeffs for the bilinear filter (support 1). */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = 1.0 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  const ss = 1.0 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const d = Math.abs((x + xmin - center + 0.5) * ss);
      weights[x] = d < 1.0 ? 1.0 - d : 0.0;
      total += weights[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? weights[x] / total : weights[x];
      // normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point.
      kk[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS))
                                 : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (sum) => Math.min(255, Math.max(0, Math.floor(sum / (1 << PRECISION_BITS))));

/**
 * Resizes RGBA bytes (width x height) to outWidth x outHeight RGB bytes exactly as
 * Pillow's Image.resize(..., BILINEAR) does for an RGB image: a horizontal pass over
 * the rows the vertical pass needs, then the vertical pass, both in fixed point.
 */
export function resizeLikePillow(rgba, width, height, outWidth, outHeight) {
  const horizontal = coefficients(width, outWidth);
  const vertical = coefficients(height, outHeight);
  const first = vertical.bounds[0];
  const last = vertical.bounds[outHeight * 2 - 2] + vertical.bounds[outHeight * 2 - 1];
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  // Horizontal pass into rows first..last-1 (RGB, 3 bytes a pixel).
  let rows = last - first, rowWidth = outWidth;
  let temp = new Uint8Array(rows * outWidth * 3);
  if (needHorizontal) {
    const { ksize, bounds, kk } = horizontal;
    for (let y = 0; y < rows; y++) {
      const src = (y + first) * width * 4;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], k = xx * ksize;
        let r = 1 << (PRECISION_BITS - 1), g = r, b = r;
        for (let x = 0; x < xmax; x++) {
          const p = src + (x + xmin) * 4, w = kk[k + x];
          r += rgba[p] * w; g += rgba[p + 1] * w; b += rgba[p + 2] * w;
        }
        const o = (y * outWidth + xx) * 3;
        temp[o] = clip8(r); temp[o + 1] = clip8(g); temp[o + 2] = clip8(b);
      }
    }
  } else {
    rows = height; rowWidth = width;
    temp = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      temp[i * 3] = rgba[i * 4]; temp[i * 3 + 1] = rgba[i * 4 + 1]; temp[i * 3 + 2] = rgba[i * 4 + 2];
    }
  }
  if (!needVertical) return temp;
  const offset = needHorizontal ? first : 0;
  const { ksize, bounds, kk } = vertical;
  const out = new Uint8Array(outHeight * rowWidth * 3);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2] - offset, ymax = bounds[yy * 2 + 1], k = yy * ksize;
    for (let xx = 0; xx < rowWidth; xx++) {
      let r = 1 << (PRECISION_BITS - 1), g = r, b = r;
      for (let y = 0; y < ymax; y++) {
        const p = ((y + ymin) * rowWidth + xx) * 3, w = kk[k + y];
        r += temp[p] * w; g += temp[p + 1] * w; b += temp[p + 2] * w;
      }
      const o = (yy * rowWidth + xx) * 3;
      out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** (width, height) from a PNG's or JPEG's header, or null (other formats, or unread). */
export function headerSize(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && view.getUint32(0) === 0x89504e47 && view.getUint32(12) === 0x49484452) {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 4 && view.getUint16(0) === 0xffd8) {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) { i++; continue; }
      const marker = bytes[i + 1];
      if (marker === 0xff) { i++; continue; }
      const length = view.getUint16(i + 2);
      // SOF0-15, except DHT (C4), JPG (C8) and DAC (CC), carry the frame's size.
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { width: view.getUint16(i + 7), height: view.getUint16(i + 5) };
      }
      i += 2 + length;
    }
  }
  return null;
}

/**
 * The scale Pillow's draft would decode a JPEG at for this target (siam_keras.runtime.
 * decode_scale.draft): the largest of 2, 4, 8 at which the photo is still at least the
 * target on each side; 1 when it is smaller than twice the target on a side.
 */
export function draftScale(width, height, targetWidth, targetHeight) {
  let scale = 1;
  for (const s of [2, 4, 8]) {
    if (Math.ceil(width / s) >= targetWidth && Math.ceil(height / s) >= targetHeight) scale = s;
  }
  return scale;
}

/**
 * Decodes a file to an upright bitmap, or throws a PhotoError saying why not. Returns
 * {bitmap, scale}: `scale` > 1 for a JPEG that Pillow would decode at 1/scale (its
 * draft mode), which `readPhoto` then imitates.
 */
async function decode(file, maxPixels, targetWidth, targetHeight) {
  const bytes = new Uint8Array(await file.slice(0, 1 << 20).arrayBuffer());
  const size = headerSize(bytes);
  if (size && size.width * size.height > maxPixels) {
    throw new PhotoError(`${file.name} is ${size.width} x ${size.height} pixels, more than the ` +
      `${(maxPixels / 1e6).toFixed(0)} MP this page decodes (the same limit as siam explain). Reduce it first.`);
  }
  const options = { imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none" };
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, options);
  } catch (error) {
    const kind = file.type || file.name.split(".").pop();
    throw new PhotoError(`${file.name} could not be read as an image (${kind || "unknown type"}): ` +
      "this browser decodes JPEG, PNG, WebP, GIF and BMP (HEIC and TIFF only in Safari). " +
      "Save the photo as JPEG and try again.");
  }
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const scale = isJpeg ? draftScale(bitmap.width, bitmap.height, targetWidth, targetHeight) : 1;
  if (bitmap.width * bitmap.height <= MAX_CANVAS_PIXELS) return { bitmap, scale };
  // Larger than a phone's canvas holds: the browser reduces it first (the one step that
  // is not Pillow's), to at least the JPEG's draft size.
  const reduction = Math.max(Math.sqrt((bitmap.width * bitmap.height) / MAX_CANVAS_PIXELS), 1);
  const reduced = await createImageBitmap(bitmap, {
    ...options, resizeWidth: Math.ceil(bitmap.width / reduction),
    resizeHeight: Math.ceil(bitmap.height / reduction), resizeQuality: "high" });
  bitmap.close();
  return { bitmap: reduced, scale: Math.max(1, Math.floor(scale / reduction)) };
}

/**
 * RGBA bytes reduced `scale` times by averaging scale x scale blocks (the last row and
 * column of blocks over the pixels they have): what libjpeg's DCT scaling, Pillow's
 * draft, decodes a JPEG to (at 1/8 exactly: the blocks' DC terms; at 1/2 and 1/4 nearly).
 */
export function blockAverage(rgba, width, height, scale) {
  const outWidth = Math.ceil(width / scale), outHeight = Math.ceil(height / scale);
  const out = new Uint8ClampedArray(outWidth * outHeight * 4);
  const sums = new Float64Array(outWidth * 3), counts = new Float64Array(outWidth);
  for (let by = 0; by < outHeight; by++) {
    sums.fill(0);
    counts.fill(0);
    for (let y = by * scale; y < Math.min(height, (by + 1) * scale); y++) {
      for (let b = 0, x = 0; b < outWidth; b++) {
        let r = 0, g = 0, bl = 0;
        const end = Math.min(width, x + scale);
        for (let p = (y * width + x) * 4; x < end; x++, p += 4) { r += rgba[p]; g += rgba[p + 1]; bl += rgba[p + 2]; }
        sums[b * 3] += r; sums[b * 3 + 1] += g; sums[b * 3 + 2] += bl;
        counts[b] += end - b * scale;
      }
    }
    for (let b = 0; b < outWidth; b++) {
      const o = (by * outWidth + b) * 4;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(sums[b * 3 + c] / counts[b]);
      out[o + 3] = 255;
    }
  }
  return { rgba: out, width: outWidth, height: outHeight };
}

/**
 * A photo file -> {pixels: Float32Array (H*W*3, 0-255), rgb: Uint8Array, photo: the
 * upright canvas it came from (for display), width, height (of the photo)}.
 */
export async function readPhoto(file, targetWidth, targetHeight, maxPixels) {
  const { bitmap, scale } = await decode(file, maxPixels, targetWidth, targetHeight);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#ffffff"; // transparency composited over white
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  let source = { rgba: context.getImageData(0, 0, canvas.width, canvas.height).data,
                  width: canvas.width, height: canvas.height };
  if (scale > 1) source = blockAverage(source.rgba, source.width, source.height, scale);
  const rgb = resizeLikePillow(source.rgba, source.width, source.height, targetWidth, targetHeight);
  return { pixels: Float32Array.from(rgb), rgb, photo: canvas };
}
