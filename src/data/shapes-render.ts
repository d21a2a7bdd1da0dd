/**
 * Rendering one `shapes` image from its class and its latent factors.
 *
 * Latent vector (length SHAPES_LATENT_NAMES.length, every factor normalised to [0, 1]):
 *   x, y        centre, 0.5 ± 0.13·size (y grows downwards, as image rows)
 *   scale       circumradius 0.22..0.36 · size
 *   rotation    angle over one symmetry period of the family, [0, 2π / order)
 *   hue         palette hue ± 0.03 (±10.8°)
 *   saturation  foreground saturation 0.55..1
 *   value       foreground value 0.70..1
 *   bg          background value 0.06..0.38 (always darker than the foreground)
 *   bgHue       background hue 0..1 at saturation 0.35
 *
 * Two renderers: `renderShapeSupersampled` is the definition (k×k point samples of sdf < 0 per
 * pixel, plain loops); `renderShapeInto` is the fast one used for datasets: one SDF evaluation
 * per pixel, coverage = clamp(0.5 − d, 0, 1) with d the signed distance in pixels (the area of a
 * unit pixel cut by a straight edge at distance d along a pixel axis). A test checks that they
 * agree.
 */
import { CbdmError } from '../util/errors.ts';
import { PALETTES, SHAPE_FAMILIES, paletteOfClass, shapeOfClass, type ShapeFamily } from './shapes-families.ts';

/** Names of the latent factors, in vector order. */
export const SHAPES_LATENT_NAMES: readonly string[] = ['x', 'y', 'scale', 'rotation', 'hue', 'saturation', 'value', 'bg', 'bgHue'];

/**
 * Which factors wrap around (0 and 1 give the same image): rotation (one symmetry period of the
 * family) and background hue. Distances between latents should wrap for these.
 */
export const SHAPES_LATENT_CIRCULAR: readonly boolean[] = SHAPES_LATENT_NAMES.map((n) => n === 'rotation' || n === 'bgHue');

/** Length of one latent vector. */
export const SHAPES_NUM_LATENTS = SHAPES_LATENT_NAMES.length;

/** Number of classes any renderer accepts (shapes100 ⊇ shapes10). */
export const SHAPES_MAX_CLASSES = 100;

const POS_RANGE = 0.13;
const SCALE_MIN = 0.22;
const SCALE_RANGE = 0.14;
const HUE_JITTER = 0.03;
/** Second tone of two-tone families: the foreground colour times this. */
const SECOND_TONE = 0.42;

/** Resolved geometry and colours of one image, in pixels and linear 0..1 RGB. */
interface ShapeParams {
  family: ShapeFamily;
  cx: number;
  cy: number;
  /** Circumradius in pixels = pixels per shape unit. */
  r: number;
  cos: number;
  sin: number;
  fg: [number, number, number];
  fg2: [number, number, number];
  bg: [number, number, number];
}

/** HSV (all in [0, 1], hue wraps) to RGB in [0, 1]. */
export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const hh = (((h % 1) + 1) % 1) * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (i) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

function checkArgs(classIndex: number, latents: ArrayLike<number>, size: number): void {
  if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < SHAPES_MAX_CLASSES)) {
    throw new CbdmError(`shapes: class index must be an integer in [0, ${SHAPES_MAX_CLASSES}), got ${classIndex}`);
  }
  if (latents.length < SHAPES_NUM_LATENTS) {
    throw new CbdmError(`shapes: a latent vector needs ${SHAPES_NUM_LATENTS} factors (${SHAPES_LATENT_NAMES.join(', ')}), got ${latents.length}`);
  }
  if (!(Number.isInteger(size) && size >= 4 && size <= 1024)) {
    throw new CbdmError(`shapes: image size must be an integer in [4, 1024], got ${size}`);
  }
}

function resolve(classIndex: number, u: ArrayLike<number>, off: number, size: number): ShapeParams {
  const family = SHAPE_FAMILIES[shapeOfClass(classIndex)]!;
  const palette = PALETTES[paletteOfClass(classIndex)]!;
  const angle = (u[off + 3]! * 2 * Math.PI) / family.order;
  const fg = hsvToRgb(palette.hue + (u[off + 4]! - 0.5) * 2 * HUE_JITTER, 0.55 + 0.45 * u[off + 5]!, 0.7 + 0.3 * u[off + 6]!);
  return {
    family,
    cx: size * (0.5 + (u[off]! - 0.5) * 2 * POS_RANGE),
    cy: size * (0.5 + (u[off + 1]! - 0.5) * 2 * POS_RANGE),
    r: size * (SCALE_MIN + SCALE_RANGE * u[off + 2]!),
    cos: Math.cos(angle),
    sin: Math.sin(angle),
    fg,
    fg2: [fg[0] * SECOND_TONE, fg[1] * SECOND_TONE, fg[2] * SECOND_TONE],
    bg: hsvToRgb(u[off + 8]!, 0.35, 0.06 + 0.32 * u[off + 7]!),
  };
}

function toByte(v: number): number {
  const b = Math.round(v * 255);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/**
 * Write one image (3 × size × size, CHW) into `out` at `outOffset`, from the latent vector at
 * `latents[latOffset ..]`. The fast analytic-coverage renderer.
 */
export function renderShapeInto(out: Uint8Array, outOffset: number, classIndex: number, latents: ArrayLike<number>, latOffset: number, size: number): void {
  const p = resolve(classIndex, latents, latOffset, size);
  const { sdf, pattern } = p.family;
  const inv = 1 / p.r;
  const plane = size * size;
  for (let i = 0; i < size; i++) {
    const dy = (i + 0.5 - p.cy) * inv;
    for (let j = 0; j < size; j++) {
      const dx = (j + 0.5 - p.cx) * inv;
      // Rotate the sample into the shape frame (shape turned by +angle), flip y to point up.
      const x = p.cos * dx + p.sin * dy;
      const y = p.sin * dx - p.cos * dy;
      let cov = 0.5 - sdf(x, y) * p.r;
      cov = cov < 0 ? 0 : cov > 1 ? 1 : cov;
      let r = p.fg[0];
      let g = p.fg[1];
      let b = p.fg[2];
      if (pattern !== undefined && cov > 0) {
        let m = 0.5 - pattern(x, y) * p.r;
        m = m < 0 ? 0 : m > 1 ? 1 : m;
        r += (p.fg2[0] - r) * m;
        g += (p.fg2[1] - g) * m;
        b += (p.fg2[2] - b) * m;
      }
      const o = outOffset + i * size + j;
      out[o] = toByte(p.bg[0] + (r - p.bg[0]) * cov);
      out[o + plane] = toByte(p.bg[1] + (g - p.bg[1]) * cov);
      out[o + 2 * plane] = toByte(p.bg[2] + (b - p.bg[2]) * cov);
    }
  }
}

/**
 * Render one image (3 × size × size, CHW uint8) of class `classIndex` (0..99; classes 0..9 are
 * the shapes10 classes) from a latent vector of SHAPES_NUM_LATENTS factors in [0, 1].
 */
export function renderShape(classIndex: number, latents: ArrayLike<number>, size: number): Uint8Array {
  checkArgs(classIndex, latents, size);
  const out = new Uint8Array(3 * size * size);
  renderShapeInto(out, 0, classIndex, latents, 0, size);
  return out;
}

/**
 * Reference renderer: k × k point samples per pixel, each inside iff sdf < 0 (and second tone iff
 * pattern < 0), averaged. Slow; defines what `renderShape` approximates.
 */
export function renderShapeSupersampled(classIndex: number, latents: ArrayLike<number>, size: number, k = 8): Uint8Array {
  checkArgs(classIndex, latents, size);
  const p = resolve(classIndex, latents, 0, size);
  const { sdf, pattern } = p.family;
  const out = new Uint8Array(3 * size * size);
  const plane = size * size;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const acc = [0, 0, 0];
      for (let si = 0; si < k; si++) {
        for (let sj = 0; sj < k; sj++) {
          const dx = (j + (sj + 0.5) / k - p.cx) / p.r;
          const dy = (i + (si + 0.5) / k - p.cy) / p.r;
          const x = p.cos * dx + p.sin * dy;
          const y = p.sin * dx - p.cos * dy;
          let c = p.bg;
          if (sdf(x, y) < 0) c = pattern !== undefined && pattern(x, y) < 0 ? p.fg2 : p.fg;
          for (let ch = 0; ch < 3; ch++) acc[ch]! += c[ch]!;
        }
      }
      for (let ch = 0; ch < 3; ch++) out[ch * plane + i * size + j] = toByte(acc[ch]! / (k * k));
    }
  }
  return out;
}
