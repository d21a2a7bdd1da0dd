/**
 * Are the shapes classes learnable and diverse? Measured from pixels only, with simple
 * hand-made features and a nearest-class-mean classifier (no training loop), on fresh reference
 * samples that the class means never saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeShapesLT, sampleShapesBalanced, sampleShapesReference } from '../../src/data/shapes.ts';

const HUE_BINS = 24;
const RADIAL_BINS = 8;
const ANGULAR_ORDERS = 6;

/**
 * Translation-, rotation- and scale-invariant features of one CHW image: a hue histogram of the
 * foreground, the radial profile around its centroid (in units of its RMS radius), the magnitudes
 * of its angular Fourier moments k = 1..6 (symmetry order), and the share of dark second tone.
 * The background colour is read from the corner pixel, which no shape reaches.
 */
function features(img: Uint8Array, off: number, size: number): number[] {
  const P = size * size;
  const bg = [img[off]!, img[off + P]!, img[off + 2 * P]!];
  const w = new Float64Array(P);
  let sw = 0;
  let cx = 0;
  let cy = 0;
  let vmax = 0;
  const hue = new Array<number>(HUE_BINS).fill(0);
  for (let i = 0; i < P; i++) {
    const r = img[off + i]!;
    const g = img[off + P + i]!;
    const b = img[off + 2 * P + i]!;
    const diff = Math.max(Math.abs(r - bg[0]!), Math.abs(g - bg[1]!), Math.abs(b - bg[2]!));
    const wi = Math.min(1, diff / 120);
    w[i] = wi;
    sw += wi;
    cx += wi * (i % size);
    cy += wi * Math.floor(i / size);
    const mx = Math.max(r, g, b);
    const mn = Math.min(r, g, b);
    if (wi > 0.5) vmax = Math.max(vmax, mx);
    if (wi > 0.5 && mx > mn) {
      let h = mx === r ? (g - b) / (mx - mn) : mx === g ? 2 + (b - r) / (mx - mn) : 4 + (r - g) / (mx - mn);
      h = (h / 6 + 1) % 1;
      hue[Math.min(HUE_BINS - 1, Math.floor(h * HUE_BINS))]! += wi;
    }
  }
  cx /= sw;
  cy /= sw;
  let r2 = 0;
  for (let i = 0; i < P; i++) r2 += w[i]! * ((i % size - cx) ** 2 + (Math.floor(i / size) - cy) ** 2);
  const rms = Math.sqrt(r2 / sw);
  const radial = new Array<number>(RADIAL_BINS).fill(0);
  const re = new Array<number>(ANGULAR_ORDERS).fill(0);
  const im = new Array<number>(ANGULAR_ORDERS).fill(0);
  let dark = 0;
  for (let i = 0; i < P; i++) {
    const dx = (i % size) - cx;
    const dy = Math.floor(i / size) - cy;
    const rho = Math.sqrt(dx * dx + dy * dy) / rms;
    radial[Math.min(RADIAL_BINS - 1, Math.floor((rho / 2) * RADIAL_BINS))]! += w[i]!;
    const th = Math.atan2(dy, dx);
    for (let k = 1; k <= ANGULAR_ORDERS; k++) {
      re[k - 1]! += w[i]! * rho * Math.cos(k * th);
      im[k - 1]! += w[i]! * rho * Math.sin(k * th);
    }
    const mx = Math.max(img[off + i]!, img[off + P + i]!, img[off + 2 * P + i]!);
    if (w[i]! > 0.5 && mx < 0.65 * vmax) dark += w[i]!;
  }
  const hs = hue.reduce((a, b) => a + b, 0) || 1;
  return [
    ...hue.map((v) => v / hs),
    ...radial.map((v) => v / sw),
    ...re.map((v, k) => Math.hypot(v, im[k]!) / sw),
    dark / sw,
  ];
}

/** Nearest-class-mean accuracy on standardised features: means from `train`, scored on `test`. */
function ncmAccuracy(train: { f: number[][]; y: number[] }, test: { f: number[][]; y: number[] }, classes: number): number {
  const D = train.f[0]!.length;
  const mean = new Array<number>(D).fill(0);
  const sd = new Array<number>(D).fill(0);
  for (const f of train.f) f.forEach((v, d) => (mean[d]! += v / train.f.length));
  for (const f of train.f) f.forEach((v, d) => (sd[d]! += (v - mean[d]!) ** 2 / train.f.length));
  const z = (f: number[]): number[] => f.map((v, d) => (v - mean[d]!) / (Math.sqrt(sd[d]!) + 1e-6));
  const mu = Array.from({ length: classes }, () => new Array<number>(D).fill(0));
  const n = new Array<number>(classes).fill(0);
  train.f.forEach((f, i) => {
    const zf = z(f);
    n[train.y[i]!]!++;
    zf.forEach((v, d) => (mu[train.y[i]!]![d]! += v));
  });
  mu.forEach((m, c) => m.forEach((_, d) => (m[d]! /= n[c]!)));
  let correct = 0;
  test.f.forEach((f, i) => {
    const zf = z(f);
    let best = -1;
    let bestD = Infinity;
    mu.forEach((m, c) => {
      let dist = 0;
      for (let d = 0; d < D; d++) dist += (zf[d]! - m[d]!) ** 2;
      if (dist < bestD) {
        bestD = dist;
        best = c;
      }
    });
    if (best === test.y[i]) correct++;
  });
  return correct / test.f.length;
}

function featureSet(classes: 10 | 100, size: 16 | 32, perClass: number, seed: number): { f: number[][]; y: number[] } {
  const ds = sampleShapesBalanced({ classes, size, perClass, seed });
  const img = 3 * size * size;
  return { f: Array.from(ds.labels, (_, i) => features(ds.images, i * img, size)), y: Array.from(ds.labels) };
}

/** Mean absolute pixel difference (0..255) between image a of `x` and image b of `y`. */
function l1(x: Uint8Array, a: number, y: Uint8Array, b: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += Math.abs(x[a * len + i]! - y[b * len + i]!);
  return s / len;
}

test('classes are distinguishable: nearest class mean on fresh reference samples', () => {
  const results: string[] = [];
  for (const [classes, size, per, min] of [[10, 16, 40, 0.9], [10, 32, 40, 0.9], [100, 16, 20, 0.5], [100, 32, 20, 0.5]] as const) {
    const acc = ncmAccuracy(featureSet(classes, size, per, 1), featureSet(classes, size, per, 2), classes);
    results.push(`shapes${classes}@${size}: ${(acc * 100).toFixed(1)}% (chance ${100 / classes}%)`);
    assert.ok(acc >= min, `shapes${classes} at ${size}: accuracy ${acc} < ${min}`);
  }
  console.log(`# NCM accuracy ${results.join('; ')}`);
});

test('intra-class diversity is real; a tail class of 5 images is far from fresh samples of it', () => {
  const size = 16;
  const len = 3 * size * size;
  const lt = makeShapesLT({ classes: 10, size });
  const tailStart = lt.labels.length - 5;
  const lines: string[] = [];
  for (let c = 0; c < 10; c++) {
    const ref = sampleShapesReference({ classes: 10, size, classIndex: c, n: 24, seed: 9 });
    let within = 0;
    let pairs = 0;
    for (let a = 0; a < 24; a++) for (let b = a + 1; b < 24; b++, pairs++) within += l1(ref.images, a, ref.images, b, len);
    within /= pairs;
    assert.ok(within > 15, `class ${c}: mean within-class distance ${within.toFixed(1)} / 255`);
    lines.push(within.toFixed(1));
  }
  // Memorising the 5 tail images would give samples at distance 0 from them; fresh samples of the
  // class sit far away, so copying is measurable against the reference sampler.
  const ref9 = sampleShapesReference({ classes: 10, size, classIndex: 9, n: 50, seed: 9 });
  let nn = 0;
  for (let k = 0; k < 50; k++) {
    let best = Infinity;
    for (let t = 0; t < 5; t++) best = Math.min(best, l1(ref9.images, k, lt.images.subarray(tailStart * len), t, len));
    nn += best / 50;
  }
  console.log(`# mean within-class L1 (0..255) per class at 16×16: ${lines.join(', ')}; tail class 9: mean NN distance of fresh samples to its 5 training images ${nn.toFixed(1)}`);
  assert.ok(nn > 10, `fresh tail samples are too close to the 5 training images: ${nn}`);
});
