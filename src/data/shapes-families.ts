/**
 * The ten shape families and ten palettes of the embedded `shapes` datasets, and how classes
 * combine them.
 *
 * A family is a signed distance function (SDF) in *unit shape coordinates*: the shape is centred
 * at the origin with a circumradius of about 1, y points up, and sdf < 0 inside. Distances are
 * Euclidean (exact, or a close bound near corners), so the renderer gets anti-aliased coverage
 * from one evaluation per pixel. Some families also have a *pattern*: a second SDF whose negative
 * side is painted in the darker second tone of the palette (the two-tone "texture" families).
 *
 * Class scheme (a Latin square, so every (shape, palette) pair is used exactly once in 100):
 *   shape(c)   = c mod 10
 *   palette(c) = (c mod 10 + ⌊c / 10⌋) mod 10
 * Classes 0..9 are therefore the diagonal (shape i in palette i) and are exactly the ten classes
 * of `shapes10`; `shapes100` adds the nine other palettes of every shape. Each shape family
 * appears once in every block of ten classes, so head, medium and tail classes all mix every
 * family and every palette.
 */

/** Signed distance in unit shape coordinates (negative inside). */
export type Sdf = (x: number, y: number) => number;

/** One shape family. */
export interface ShapeFamily {
  name: string;
  /** Rotational symmetry order: rotation latent 0..1 maps to [0, 2π / order). */
  order: number;
  sdf: Sdf;
  /** Optional second-tone region inside the shape (negative = second tone). */
  pattern?: Sdf;
}

/** One palette: the foreground hue centre (HSV hue in [0, 1)). */
export interface Palette {
  name: string;
  hue: number;
}

/** Number of shape families and of palettes. */
export const NUM_FAMILIES = 10;

function boxSdf(x: number, y: number, hx: number, hy: number): number {
  const qx = Math.abs(x) - hx;
  const qy = Math.abs(y) - hy;
  const ox = qx > 0 ? qx : 0;
  const oy = qy > 0 ? qy : 0;
  const inside = qx > qy ? qx : qy;
  return Math.sqrt(ox * ox + oy * oy) + (inside < 0 ? inside : 0);
}

/** Ellipse with semi-axes (a, b): iq's first-order distance estimate k0 (k0 − 1) / k1. */
function ellipseSdf(x: number, y: number, a: number, b: number): number {
  const k0 = Math.sqrt((x * x) / (a * a) + (y * y) / (b * b));
  const k1 = Math.sqrt((x * x) / (a * a * a * a) + (y * y) / (b * b * b * b));
  if (k1 < 1e-12) return -Math.min(a, b);
  return (k0 * (k0 - 1)) / k1;
}

// Triangle: equilateral, pointing up, circumradius 1.1 → apothem 0.55.
const TRI_APOTHEM = 0.55;
const COS30 = Math.cos(Math.PI / 6);

// Star: five points, outer radius 1.05, inner radius 0.45; one point up.
const STAR_R = 1.05;
const STAR_INNER = 0.45;
const STAR_SECTOR = (2 * Math.PI) / 5;
const STAR_AX = STAR_R;
const STAR_BX = STAR_INNER * Math.cos(Math.PI / 5);
const STAR_BY = STAR_INNER * Math.sin(Math.PI / 5);
const STAR_EX = STAR_BX - STAR_AX;
const STAR_EY = STAR_BY;
const STAR_ELEN2 = STAR_EX * STAR_EX + STAR_EY * STAR_EY;

/** Exact star SDF: fold the angle into one half-sector and measure to the one edge there. */
function starSdf(x: number, y: number): number {
  // Rotate so that a point is on the +x axis of the folded frame (the star points up).
  const rho = Math.sqrt(x * x + y * y);
  let th = Math.atan2(x, y); // angle measured from +y, so the top point is at angle 0
  th = ((th % STAR_SECTOR) + STAR_SECTOR) % STAR_SECTOR;
  if (th > STAR_SECTOR / 2) th = STAR_SECTOR - th;
  const px = rho * Math.cos(th);
  const py = rho * Math.sin(th);
  // Distance to the segment A=(R,0) → B=(inner cos36°, inner sin36°).
  const wx = px - STAR_AX;
  const wy = py;
  let t = (wx * STAR_EX + wy * STAR_EY) / STAR_ELEN2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const dx = wx - t * STAR_EX;
  const dy = wy - t * STAR_EY;
  const dist = Math.sqrt(dx * dx + dy * dy);
  // The origin lies on the side where cross(E, W) > 0; same side (or beyond the edge ends,
  // handled by the fold) means inside.
  const cross = STAR_EX * wy - STAR_EY * wx;
  return cross > 0 ? -dist : dist;
}

const HEX_APOTHEM = 0.95 * COS30;
const SIN60 = Math.sin(Math.PI / 3);

/** The ten families, index = shape id. */
export const SHAPE_FAMILIES: readonly ShapeFamily[] = [
  { name: 'ellipse', order: 2, sdf: (x, y) => ellipseSdf(x, y, 1.0, 0.58) },
  { name: 'square', order: 4, sdf: (x, y) => boxSdf(x, y, 0.76, 0.76) },
  {
    name: 'triangle',
    order: 3,
    sdf: (x, y) => {
      // Edge normals at −90°, 30°, 150°; max of half-plane distances.
      const d0 = -y;
      const d1 = COS30 * x + 0.5 * y;
      const d2 = -COS30 * x + 0.5 * y;
      return Math.max(d0, d1, d2) - TRI_APOTHEM;
    },
  },
  {
    name: 'ring',
    order: 1,
    // An annulus with a gap on the right (a Landolt C), so rotation is visible.
    sdf: (x, y) => Math.max(Math.abs(Math.sqrt(x * x + y * y) - 0.7) - 0.24, -boxSdf(x - 0.75, y, 0.45, 0.2)),
  },
  { name: 'cross', order: 4, sdf: (x, y) => Math.min(boxSdf(x, y, 0.95, 0.3), boxSdf(x, y, 0.3, 0.95)) },
  { name: 'star', order: 5, sdf: starSdf },
  {
    name: 'hexagon',
    order: 6,
    sdf: (x, y) => {
      const d0 = Math.abs(y);
      const d1 = Math.abs(SIN60 * x + 0.5 * y);
      const d2 = Math.abs(SIN60 * x - 0.5 * y);
      return Math.max(d0, d1, d2) - HEX_APOTHEM;
    },
  },
  {
    name: 'crescent',
    order: 1,
    sdf: (x, y) => {
      const outer = Math.sqrt(x * x + y * y) - 0.95;
      const bx = x - 0.42;
      const bite = 0.78 - Math.sqrt(bx * bx + y * y);
      return Math.max(outer, bite);
    },
  },
  {
    name: 'bars',
    order: 2,
    // Two parallel bars ("="), thick enough to stay separate at 16×16.
    sdf: (x, y) => Math.min(boxSdf(x, y - 0.42, 0.92, 0.24), boxSdf(x, y + 0.42, 0.92, 0.24)),
  },
  {
    name: 'checker',
    order: 2,
    // A square in 2×2 checks: the top-right and bottom-left checks take the second tone.
    sdf: (x, y) => boxSdf(x, y, 0.76, 0.76),
    pattern: (x, y) => {
      const m = Math.min(Math.abs(x), Math.abs(y));
      return x * y > 0 ? -m : m;
    },
  },
];

/** The ten palettes, index = palette id: hues spaced 36° apart. */
export const PALETTES: readonly Palette[] = [
  { name: 'red', hue: 0.0 },
  { name: 'orange', hue: 0.1 },
  { name: 'yellow', hue: 0.2 },
  { name: 'lime', hue: 0.3 },
  { name: 'green', hue: 0.4 },
  { name: 'cyan', hue: 0.5 },
  { name: 'azure', hue: 0.6 },
  { name: 'blue', hue: 0.7 },
  { name: 'violet', hue: 0.8 },
  { name: 'pink', hue: 0.9 },
];

/** Shape-family id of class `c` (any class count; see the scheme above). */
export function shapeOfClass(c: number): number {
  return c % NUM_FAMILIES;
}

/** Palette id of class `c`. */
export function paletteOfClass(c: number): number {
  return ((c % NUM_FAMILIES) + Math.floor(c / NUM_FAMILIES)) % NUM_FAMILIES;
}

/** Human-readable class name, `<palette>-<shape>`, e.g. `red-ellipse`. */
export function shapeClassName(c: number): string {
  return `${PALETTES[paletteOfClass(c)]!.name}-${SHAPE_FAMILIES[shapeOfClass(c)]!.name}`;
}
