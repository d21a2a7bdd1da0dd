/**
 * Compose images into grid PNGs (pngjs). Shapes: n images, each C×H×W uint8 channel-major
 * (C = 1 grey or 3 RGB), laid out row-major in `cols` columns, each upscaled ×scale by nearest
 * neighbour so 16×16 samples stay crisp. The sampler, the evaluator and the report all use it.
 */
import { PNG } from 'pngjs';
import { CbdmError } from '../util/errors.ts';

/** Size of one channel-major image. */
export interface ImageShape {
  c: number;
  h: number;
  w: number;
}

/** An RGBA raster, row-major H×W×4 (the pngjs layout). */
export interface Raster {
  width: number;
  height: number;
  data: Uint8Array;
}

/** RGB colour 0..255. */
export type Rgb = readonly [number, number, number];

/** Integer nearest-neighbour upscaling factors. */
export type Upscale = 1 | 2 | 4;

/** Layout of a grid. */
export interface GridOptions {
  /** Columns (default ceil(√n)). */
  cols?: number;
  /** Nearest-neighbour upscaling of every image (default 1). */
  scale?: Upscale;
  /** Pixels between images and around the border, after scaling (default 1). */
  pad?: number;
  /** Colour of padding and empty cells (default white). */
  background?: Rgb;
}

/** Check a CHW shape and that `bytes` holds a whole number of such images; returns that number. */
export function countImages(bytes: ArrayLike<number>, shape: ImageShape, what = 'images'): number {
  const { c, h, w } = shape;
  if (!(c === 1 || c === 3)) throw new CbdmError(`${what}: expected 1 or 3 channels, got ${c}`);
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new CbdmError(`${what}: bad image size ${h}×${w}`);
  const per = c * h * w;
  if (bytes.length % per !== 0) throw new CbdmError(`${what}: ${bytes.length} values is not a whole number of ${c}×${h}×${w} images`);
  return bytes.length / per;
}

/** A raster of the given size filled with `background`. */
export function newRaster(width: number, height: number, background: Rgb = [255, 255, 255]): Raster {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[4 * i] = background[0];
    data[4 * i + 1] = background[1];
    data[4 * i + 2] = background[2];
    data[4 * i + 3] = 255;
  }
  return { width, height, data };
}

/**
 * Copy image number `index` of `images` (C×H×W each) into `dst` with its top-left at (x0, y0),
 * each source pixel becoming a scale×scale block. Pixels outside `dst` are dropped.
 */
export function blitImage(dst: Raster, images: Uint8Array, index: number, shape: ImageShape, x0: number, y0: number, scale: number): void {
  const { c, h, w } = shape;
  const base = index * c * h * w;
  const plane = h * w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = base + y * w + x;
      const r = images[s]!;
      const g = c === 3 ? images[s + plane]! : r;
      const b = c === 3 ? images[s + 2 * plane]! : r;
      for (let dy = 0; dy < scale; dy++) {
        const py = y0 + y * scale + dy;
        if (py < 0 || py >= dst.height) continue;
        for (let dx = 0; dx < scale; dx++) {
          const px = x0 + x * scale + dx;
          if (px < 0 || px >= dst.width) continue;
          const o = 4 * (py * dst.width + px);
          dst.data[o] = r;
          dst.data[o + 1] = g;
          dst.data[o + 2] = b;
          dst.data[o + 3] = 255;
        }
      }
    }
  }
}

/** Lay out all images of `images` in a grid raster. */
export function gridRaster(images: Uint8Array, shape: ImageShape, opts: GridOptions = {}): Raster {
  const n = countImages(images, shape);
  if (n === 0) throw new CbdmError('cannot make a grid of zero images');
  const scale = opts.scale ?? 1;
  if (!(scale === 1 || scale === 2 || scale === 4)) throw new CbdmError(`grid scale must be 1, 2 or 4, got ${String(scale)}`);
  const pad = opts.pad ?? 1;
  if (!(Number.isInteger(pad) && pad >= 0)) throw new CbdmError(`grid padding must be a non-negative integer, got ${pad}`);
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  if (!(Number.isInteger(cols) && cols > 0)) throw new CbdmError(`grid columns must be a positive integer, got ${cols}`);
  const rows = Math.ceil(n / cols);
  const cw = shape.w * scale;
  const chh = shape.h * scale;
  const out = newRaster(cols * cw + (cols + 1) * pad, rows * chh + (rows + 1) * pad, opts.background);
  for (let i = 0; i < n; i++) {
    const col = i % cols;
    const row = Math.floor(i / cols);
    blitImage(out, images, i, shape, pad + col * (cw + pad), pad + row * (chh + pad), scale);
  }
  return out;
}

/** Encode a raster as PNG bytes (RGBA, 8 bit). */
export function encodePng(r: Raster): Buffer {
  const png = new PNG({ width: r.width, height: r.height });
  png.data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  return PNG.sync.write(png);
}

/** Decode PNG bytes into an RGBA raster (throws CbdmError naming `source` when corrupt). */
export function decodePng(bytes: Uint8Array, source = 'PNG data'): Raster {
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch (e) {
    throw new CbdmError(`${source} is not a readable PNG (${(e as Error).message}); regenerate it`);
  }
}

/** Grid PNG of all images in `images` (n×C×H×W uint8). */
export function gridPng(images: Uint8Array, shape: ImageShape, opts: GridOptions = {}): Buffer {
  return encodePng(gridRaster(images, shape, opts));
}

/** Float images in [0, 1] (e.g. sampler output mapped from [−1, 1]) → uint8, clipped and rounded. */
export function floatToUint8(x: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}
