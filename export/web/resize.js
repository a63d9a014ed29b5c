// Pillow's resampling, in the page: its antialiased bilinear resize (fixed point and
// fractional boxes included, bit for bit) and an imitation of libjpeg's DCT-scaled
// decoding (Pillow's JPEG draft mode), as siam_keras.runtime.images uses them.

const PRECISION_BITS = 32 - 8 - 2;

/**
 * Pillow's precompute_coeffs for the bilinear filter (support 1), over the box
 * [in0, in1) of an input inSize pixels long (Pillow passes the box as C floats).
 */
function coefficients(inSize, outSize, in0 = 0, in1 = inSize) {
  in0 = Math.fround(in0);
  in1 = Math.fround(in1);
  const scale = Math.fround(in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = 1.0 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  const ss = 1.0 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
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
 * Pillow's Image.resize(..., BILINEAR, box=box) does for an RGB image, horizontal pass
 * first (siam_keras.runtime.images.resize_for_model fixes that order): a horizontal pass
 * over the rows the vertical pass needs, then the vertical pass, both in fixed point.
 */
export function resizeLikePillow(rgba, width, height, outWidth, outHeight, box = [0, 0, width, height]) {
  const [left, top, right, bottom] = box;
  const horizontal = coefficients(width, outWidth, left, right);
  const vertical = coefficients(height, outHeight, top, bottom);
  const first = vertical.bounds[0];
  const last = vertical.bounds[outHeight * 2 - 2] + vertical.bounds[outHeight * 2 - 1];
  const needHorizontal = outWidth !== width || left !== 0 || right !== outWidth;
  const needVertical = outHeight !== height || top !== 0 || bottom !== outHeight;
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

/**
 * The scale Pillow's draft decodes a JPEG at for this target (siam_keras.runtime.
 * decode_scale.draft): 1 when the photo is smaller than twice the target on a side,
 * else the largest of 8, 4, 2 not above the smaller of width // target and
 * height // target (upright sizes on both sides).
 */
export function draftScale(width, height, targetWidth, targetHeight) {
  if (width < 2 * targetWidth || height < 2 * targetHeight) return 1;
  const most = Math.min(Math.floor(width / targetWidth), Math.floor(height / targetHeight));
  return [8, 4, 2, 1].find((s) => most >= s);
}

/**
 * RGBA bytes reduced `scale` times by averaging scale x scale blocks: what libjpeg's
 * DCT scaling, Pillow's draft, decodes a JPEG to (at 1/8 exactly: the blocks' DC terms;
 * at 1/2 and 1/4 nearly). The blocks start at the stored image's first pixel, `origin`
 * once upright, so the partial ones lie where the decoder puts them. Returns the
 * reduced pixels and `box`, the photo's exact extent in them, as read_photo's.
 */
export function blockAverage(rgba, width, height, scale, origin = { right: false, bottom: false }) {
  const outWidth = Math.ceil(width / scale), outHeight = Math.ceil(height / scale);
  // Block b covers pixels [start(b), start(b + 1)) of a side, counted from the origin.
  const starts = (size, out, fromEnd) => Int32Array.from({ length: out + 1 }, (_, b) =>
    fromEnd ? Math.max(0, size - (out - b) * scale) : Math.min(size, b * scale));
  const xs = starts(width, outWidth, origin.right), ys = starts(height, outHeight, origin.bottom);
  const out = new Uint8ClampedArray(outWidth * outHeight * 4);
  for (let by = 0; by < outHeight; by++) {
    for (let bx = 0; bx < outWidth; bx++) {
      let r = 0, g = 0, b = 0;
      for (let y = ys[by]; y < ys[by + 1]; y++) {
        for (let p = (y * width + xs[bx]) * 4, end = (y * width + xs[bx + 1]) * 4; p < end; p += 4) {
          r += rgba[p]; g += rgba[p + 1]; b += rgba[p + 2];
        }
      }
      const count = (ys[by + 1] - ys[by]) * (xs[bx + 1] - xs[bx]), o = (by * outWidth + bx) * 4;
      out[o] = Math.round(r / count); out[o + 1] = Math.round(g / count); out[o + 2] = Math.round(b / count);
      out[o + 3] = 255;
    }
  }
  const exactWidth = width / scale, exactHeight = height / scale;
  const box = [origin.right ? outWidth - exactWidth : 0, origin.bottom ? outHeight - exactHeight : 0,
               origin.right ? outWidth : exactWidth, origin.bottom ? outHeight : exactHeight];
  return { rgba: out, width: outWidth, height: outHeight, box };
}
