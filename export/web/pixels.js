// From a photo file to the model's pixels, as siam_keras.runtime.images does: the
// upright RGB photo (EXIF orientation applied, transparency over white), the whole
// photo resized (no crop) to the input size with Pillow's antialiased bilinear filter,
// raw values 0-255 as float32. Pillow's filter is reimplemented exactly (resize.js): a
// PNG gives the same pixels. A JPEG that Pillow decodes at 1/2, 1/4 or 1/8 scale (draft
// mode, libjpeg's DCT scaling) is reduced by averaging blocks of the browser's full
// decode, which is close, not bit for bit (README: "The page and siam_keras").

import { blockAverage, draftScale, resizeLikePillow } from "./resize.js";

/** The largest canvas every phone browser draws (Safari on iOS: 16.7 MP). */
const MAX_CANVAS_PIXELS = 16_000_000;

/** Why a file is not explained: shown to the user as is. */
export class PhotoError extends Error {}

/** (width, height) from an image's header (PNG, JPEG, WebP, GIF, BMP), or null. */
export function headerSize(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at, n) => String.fromCharCode(...bytes.subarray(at, at + n));
  if (bytes.length >= 24 && view.getUint32(0) === 0x89504e47 && text(12, 4) === "IHDR") {
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length >= 10 && text(0, 3) === "GIF") {
    return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
  }
  if (bytes.length >= 26 && text(0, 2) === "BM") {
    return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
  }
  if (bytes.length >= 30 && text(0, 4) === "RIFF" && text(8, 4) === "WEBP") {
    const chunk = text(12, 4);
    if (chunk === "VP8X") {
      const u24 = (at) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
      return { width: u24(24) + 1, height: u24(27) + 1 };
    }
    if (chunk === "VP8L") {
      const bits = view.getUint32(21, true);
      return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (chunk === "VP8 ") return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
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

/** The EXIF orientation (1-8) in a TIFF structure (an EXIF block), or 1. */
function tiffOrientation(bytes, start) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (start + 8 > bytes.length) return 1;
  const little = bytes[start] === 0x49;
  const ifd = start + view.getUint32(start + 4, little);
  if (ifd + 2 > bytes.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let n = 0; n < count; n++) {
    const entry = ifd + 2 + n * 12;
    if (entry + 10 > bytes.length) return 1;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/** The EXIF orientation of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk); 1 if none. */
export function exifOrientation(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at, n) => String.fromCharCode(...bytes.subarray(at, at + n));
  try {
    if (view.getUint16(0) === 0xffd8) {
      for (let i = 2; i + 4 < bytes.length;) {
        if (bytes[i] !== 0xff) return 1;
        const marker = bytes[i + 1], length = view.getUint16(i + 2);
        if (marker === 0xe1 && text(i + 4, 6) === "Exif\0\0") return tiffOrientation(bytes, i + 10);
        if (marker === 0xda) return 1; // the image data: no EXIF before it
        i += 2 + length;
      }
    } else if (view.getUint32(0) === 0x89504e47) {
      for (let i = 8; i + 8 < bytes.length;) {
        const length = view.getUint32(i), type = text(i + 4, 4);
        if (type === "eXIf") return tiffOrientation(bytes, i + 8);
        if (type === "IDAT") return 1;
        i += 12 + length;
      }
    } else if (text(0, 4) === "RIFF" && text(8, 4) === "WEBP") {
      for (let i = 12; i + 8 < bytes.length;) {
        const type = text(i, 4), length = view.getUint32(i + 4, true);
        if (type === "EXIF") {
          const start = text(i + 8, 6) === "Exif\0\0" ? i + 14 : i + 8;
          return tiffOrientation(bytes, start);
        }
        i += 8 + length + (length % 2);
      }
    }
  } catch (error) {
    return 1; // a damaged block: the photo is not turned, as siam_keras does
  }
  return 1;
}

/** Where a stored image's top-left corner is once turned upright: {right, bottom}. */
function storedOrigin(orientation) {
  return { right: [2, 3, 6, 7].includes(orientation), bottom: [3, 4, 7, 8].includes(orientation) };
}

const megapixels = (pixels) => `${(pixels / 1e6).toFixed(pixels < 1e6 ? 3 : 1)} MP`;

/**
 * Decodes a file to an upright bitmap, or throws a PhotoError saying why not. Returns
 * {bitmap, scale, origin}: `scale` > 1 for a JPEG that Pillow would decode at 1/scale
 * (its draft mode), which `readPhoto` imitates, and `origin`, where the stored image's
 * first block is once upright (its partial blocks are on the other sides).
 */
async function decode(file, maxPixels, targetWidth, targetHeight) {
  const bytes = new Uint8Array(await file.slice(0, 1 << 20).arrayBuffer());
  if (file.size === 0) throw new PhotoError(`${file.name} is empty (0 bytes).`);
  const size = headerSize(bytes);
  const tooLarge = (width, height) => new PhotoError(
    `${file.name} is ${width} x ${height} pixels (${megapixels(width * height)}), more than the ` +
    `${megapixels(maxPixels)} this page decodes (the same limit as siam explain). Reduce it first.`);
  if (size && size.width * size.height > maxPixels) throw tooLarge(size.width, size.height);
  const options = { imageOrientation: "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none" };
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, options);
  } catch (error) {
    if (size) {
      throw new PhotoError(`${file.name} is damaged or truncated: its header says ${size.width} x ` +
        `${size.height} pixels, but this browser could not decode the image data.`);
    }
    const kind = file.type || file.name.split(".").pop();
    throw new PhotoError(`${file.name} could not be read as an image (${kind || "unknown type"}): ` +
      "this browser decodes JPEG, PNG, WebP, GIF and BMP (HEIC and TIFF only in Safari). " +
      "Save the photo as JPEG and try again.");
  }
  if (bitmap.width * bitmap.height > maxPixels) {
    const { width, height } = bitmap;
    bitmap.close();
    throw tooLarge(width, height);
  }
  const orientation = exifOrientation(bytes);
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const isWebp = bytes.length > 12 && String.fromCharCode(...bytes.subarray(8, 12)) === "WEBP";
  // Browsers turn JPEGs and PNGs upright; Chromium leaves WebPs as stored (a quarter
  // turn shows in the size): those are turned here, as Pillow's exif_transpose does.
  const turned = [5, 6, 7, 8].includes(orientation);
  const swapped = size && turned && bitmap.width === size.height && bitmap.height === size.width;
  if (isWebp && orientation !== 1 && !swapped) bitmap = await upright(bitmap, orientation);
  const scale = isJpeg ? draftScale(bitmap.width, bitmap.height, targetWidth, targetHeight) : 1;
  if (bitmap.width * bitmap.height <= MAX_CANVAS_PIXELS) return { bitmap, scale, origin: storedOrigin(orientation) };
  // Larger than a phone's canvas holds: the browser reduces it first (the one step that
  // is not Pillow's), to at least the JPEG's draft size.
  const reduction = Math.max(Math.sqrt((bitmap.width * bitmap.height) / MAX_CANVAS_PIXELS), 1);
  const reduced = await createImageBitmap(bitmap, {
    ...options, resizeWidth: Math.ceil(bitmap.width / reduction),
    resizeHeight: Math.ceil(bitmap.height / reduction), resizeQuality: "high" });
  bitmap.close();
  return { bitmap: reduced, scale: Math.max(1, Math.floor(scale / reduction)), origin: storedOrigin(orientation) };
}

/** The bitmap turned by EXIF `orientation` (2-8), as ImageOps.exif_transpose turns it. */
async function upright(bitmap, orientation) {
  const { width, height } = bitmap;
  const turned = [5, 6, 7, 8].includes(orientation);
  const canvas = new OffscreenCanvas(turned ? height : width, turned ? width : height);
  const context = canvas.getContext("2d");
  // The transform taking stored (x, y) to upright, per orientation.
  const transforms = {
    2: [-1, 0, 0, 1, width, 0], 3: [-1, 0, 0, -1, width, height], 4: [1, 0, 0, -1, 0, height],
    5: [0, 1, 1, 0, 0, 0], 6: [0, 1, -1, 0, height, 0], 7: [0, -1, -1, 0, height, width],
    8: [0, -1, 1, 0, 0, width],
  };
  context.setTransform(...transforms[orientation]);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return canvas.transferToImageBitmap();
}

/**
 * A photo file -> {pixels: Float32Array (H*W*3, 0-255), rgb: Uint8Array, photo: the
 * upright canvas it came from (for display)}.
 */
export async function readPhoto(file, targetWidth, targetHeight, maxPixels) {
  const { bitmap, scale, origin } = await decode(file, maxPixels, targetWidth, targetHeight);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.fillStyle = "#ffffff"; // transparency composited over white
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  let source = { rgba: context.getImageData(0, 0, canvas.width, canvas.height).data,
                 width: canvas.width, height: canvas.height, box: undefined };
  if (scale > 1) source = blockAverage(source.rgba, source.width, source.height, scale, origin);
  const rgb = resizeLikePillow(source.rgba, source.width, source.height, targetWidth, targetHeight, source.box);
  return { pixels: Float32Array.from(rgb), rgb, photo: canvas };
}
