/**
 * Batched feature extraction for the metrics: any `FeatureExtractor` (the FID Inception, or the
 * embedded dataset's domain classifier from `domain.ts`) over an image set, with a progress bar;
 * and the .npz files the evaluation exchanges:
 *  - statistics: `mu` (D, float64), `sigma` (D×D, float64) — pytorch-fid's format, read and
 *    written as is — plus our optional `features` (n×D float32), `labels` (n int32) and `meta`
 *    (UTF-8 JSON as uint8) for precision/recall, KID and per-class metrics;
 *  - samples: `x` (N×C×H×W float32 in [0, 1], or uint8; C = 3, or 1 for greyscale data), `y`
 *    (N int labels), optional `meta`
 *    (sampler, steps, omega, eta) or a sidecar `<file>.json`.
 *
 * Images are n×C×size×size, CHW per image (C = 3 unless said otherwise), either uint8 (0..255, datasets) or float32 in [0, 1]
 * (generated samples: the published protocol does *not* quantize them to uint8 before the
 * Inception). An extractor that only takes uint8 gets float images rounded to uint8, and the
 * returned `quantized` flag says so. Greyscale images given to an RGB extractor (the Inception)
 * are repeated over the three channels, as FID on MNIST-like data is usually computed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readNpz, writeNpz } from '../io/npz.ts';
import { fromNumbers, toFloat32, toFloat64, type NdArray } from '../io/ndarray.ts';
import { CbdmError } from '../util/errors.ts';
import { Progress } from '../util/progress.ts';
import { readSampleArrays } from './sample-formats.ts';
import type { FeatureStats } from './fid.ts';
import { FidInceptionV3 } from './inception.ts';
import { withPrecision } from '../engine/backends.ts';

/** Images as the metrics take them: uint8 0..255 or float32 in [0, 1], n×C×size×size. */
export type ImageArray = Uint8Array | Float32Array;

/**
 * A feature network for FID / KID / precision-recall / IS / per-class accuracy. `extract` maps
 * n images (n×3×size×size) to n×dim features and, for classifiers, n×K logits.
 */
export interface FeatureExtractor {
  /** Shown next to the numbers, e.g. `inception-v3-fid` or `shapes10-domain`. */
  readonly name: string;
  /** Feature width (2048 for the FID Inception's pool3). */
  readonly dim: number;
  /** True when `extract` takes float32 images in [0, 1]; otherwise it is given uint8 only. */
  readonly acceptsFloat?: boolean;
  /**
   * What the logits are: 'imagenet' (the FID Inception's 1008 classes: Inception Score) or
   * 'classes' (the dataset's classes: per-sample class accuracy). Default: 'classes' when there
   * is one logit per dataset class.
   */
  readonly logitsKind?: 'imagenet' | 'classes';
  /** Image channels it takes: 3 (default) or 1 (a greyscale dataset's classifier). */
  readonly channels?: number;
  extract(images: ImageArray, n: number, size: number): { features: Float32Array; logits?: Float32Array };
}

/** The FID Inception as a FeatureExtractor: pool3 features and the bias-free logits IS uses. */
export function inceptionExtractor(net: FidInceptionV3, name = 'inception-v3-fid'): FeatureExtractor {
  return {
    name,
    dim: net.dim,
    acceptsFloat: true,
    logitsKind: 'imagenet',
    extract(images: ImageArray, n: number, size: number) {
      const out = net.forward(images, n, size, size);
      const features = Float32Array.from(out.pool3.toArray());
      const logits = Float32Array.from(out.logits.toArray());
      out.pool3.dispose();
      out.logits.dispose();
      out.logitsWithBias.dispose();
      return { features, logits };
    },
  };
}

/** Precision of the feature network's convolutions: fp32 (published protocol) or bf16 (faster). */
export type FeaturePrecision = 'fp32' | 'bf16';

/**
 * The extractor with its convolutions computing in `p`, independent of CBDM_PRECISION (which
 * sets the precision of training and sampling): FID features stay fp32 unless asked for.
 */
export function atPrecision(ex: FeatureExtractor, p: FeaturePrecision): FeatureExtractor {
  return {
    name: ex.name, dim: ex.dim,
    ...(ex.acceptsFloat !== undefined ? { acceptsFloat: ex.acceptsFloat } : {}),
    ...(ex.logitsKind !== undefined ? { logitsKind: ex.logitsKind } : {}),
    ...(ex.channels !== undefined ? { channels: ex.channels } : {}),
    extract: (images, n, size) => withPrecision(p, () => ex.extract(images, n, size)),
  };
}

/** Options of `extractFeatures`. */
export interface ExtractOptions {
  /** Images per forward pass (default 50, as pytorch-fid). */
  batchSize?: number;
  /** Progress bar label (default: the extractor's name). */
  label?: string;
  /** Show a progress bar (default: when stderr is a TTY). */
  progress?: boolean;
  /** Channels of the images (default 3). */
  channels?: number;
}

/** Features of an image set: n×dim row-major, plus n×logitsDim logits when the extractor has them. */
export interface FeatureSet {
  extractor: string;
  n: number;
  dim: number;
  features: Float32Array;
  logits: Float32Array | null;
  logitsDim: number;
  /** Float images were rounded to uint8 because the extractor takes only uint8. */
  quantized: boolean;
  /** Images per second of the extraction. */
  imagesPerSecond: number;
}

/** Round float images in [0, 1] to uint8 (x·255, nearest, clamped). */
export function quantizeImages(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(x[i]! * 255)));
  return out;
}

/** n greyscale images (n×1×S×S) as RGB (n×3×S×S), the grey plane repeated. */
export function greyToRgb<T extends ImageArray>(images: T, n: number, size: number): T {
  const plane = size * size;
  const out = (images instanceof Uint8Array ? new Uint8Array(3 * n * plane) : new Float32Array(3 * n * plane)) as T;
  for (let i = 0; i < n; i++) {
    const src = images.subarray(i * plane, (i + 1) * plane);
    for (let c = 0; c < 3; c++) out.set(src, (3 * i + c) * plane);
  }
  return out;
}

/** Run `extractor` over n images of side `size` in batches; returns features (and logits). */
export function extractFeatures(extractor: FeatureExtractor, images: ImageArray, n: number, size: number, opts: ExtractOptions = {}): FeatureSet {
  const C = opts.channels ?? 3;
  const takes = extractor.channels ?? 3;
  if (!(Number.isInteger(n) && n >= 0) || images.length !== n * C * size * size) {
    throw new Error(`extractFeatures: ${images.length} values are not ${n} images of ${C}×${size}×${size}`);
  }
  if (C !== takes && !(C === 1 && takes === 3)) throw new CbdmError(`the ${extractor.name} features take ${takes}-channel images, these have ${C}`);
  const grey = C === 1 && takes === 3;
  const per = C * size * size;
  const batch = Math.max(1, Math.floor(opts.batchSize ?? 50));
  const quantized = images instanceof Float32Array && extractor.acceptsFloat !== true;
  const input: ImageArray = quantized ? quantizeImages(images as Float32Array) : images;
  const features = new Float32Array(n * extractor.dim);
  let logits: Float32Array | null = null;
  let logitsDim = 0;
  const bar = new Progress(n, { label: opts.label ?? extractor.name, unit: 'image', ...(opts.progress !== undefined ? { enabled: opts.progress } : {}) });
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      const chunk = input.subarray(i * per, (i + m) * per);
      const r = extractor.extract(grey ? greyToRgb(chunk, m, size) : chunk, m, size);
      if (r.features.length !== m * extractor.dim) {
        throw new Error(`extractor ${extractor.name} returned ${r.features.length} features for ${m} images of dim ${extractor.dim}`);
      }
      features.set(r.features, i * extractor.dim);
      if (r.logits) {
        if (logits === null) {
          logitsDim = r.logits.length / m;
          logits = new Float32Array(n * logitsDim);
        }
        if (r.logits.length !== m * logitsDim) throw new Error(`extractor ${extractor.name} returned logits of inconsistent width`);
        logits.set(r.logits, i * logitsDim);
      }
      const sec = (performance.now() - t0) / 1000;
      bar.update(i + m, { 'img/s': ((i + m) / Math.max(sec, 1e-9)).toFixed(1) });
    }
  } finally {
    bar.stop();
  }
  const sec = (performance.now() - t0) / 1000;
  return { extractor: extractor.name, n, dim: extractor.dim, features, logits, logitsDim, quantized, imagesPerSecond: n / Math.max(sec, 1e-9) };
}

// ---- samples and statistics files --------------------------------------------------------------

/** A samples file, validated. */
export interface Samples {
  path: string;
  images: ImageArray;
  n: number;
  size: number;
  /** 3 (RGB) or 1 (greyscale). */
  channels: number;
  labels: Int32Array;
  meta: Record<string, unknown>;
}

const jsonMeta = (a: NdArray | undefined): Record<string, unknown> => {
  if (!a) return {};
  try {
    const v = JSON.parse(Buffer.from(a.data as Uint8Array).toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

/** UTF-8 JSON as a uint8 array, the way our .npz files carry metadata. */
export function metaArray(meta: Record<string, unknown>): NdArray {
  const bytes = Buffer.from(JSON.stringify(meta), 'utf8');
  return { dtype: 'uint8', shape: [bytes.length], data: new Uint8Array(bytes) };
}

/**
 * Read and check a samples file (./sample-formats.ts: our .npz, guided-diffusion's arr_0 .npz or
 * the published .npy pair): x N×C×S×S (C = 3 or 1) in [0, 1] (float) or uint8, y N integer labels.
 */
export function readSamples(path: string, numClasses?: number): Samples {
  const arrays = readSampleArrays(path);
  const { x, y } = arrays;
  if (!x || !y) throw new CbdmError(`${path} must hold 'x' (N×3×H×W images, or N×1×H×W greyscale) and 'y' (N labels); it holds: ${Object.keys(readNpz(path)).join(', ') || 'nothing'}`);
  if (x.shape.length !== 4 || (x.shape[1] !== 3 && x.shape[1] !== 1)) throw new CbdmError(`${path}: x must be N×3×H×W (RGB) or N×1×H×W (greyscale), channels first, got shape [${x.shape.join(', ')}]`);
  const [n, channels, h, w] = x.shape as [number, number, number, number];
  if (h !== w) throw new CbdmError(`${path}: images must be square, got ${h}×${w}`);
  let images: ImageArray;
  if (x.dtype === 'uint8') images = x.data as Uint8Array;
  else if (x.dtype === 'float32' || x.dtype === 'float64' || x.dtype === 'float16') {
    images = toFloat32(x);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of images) {
      if (Number.isNaN(v)) throw new CbdmError(`${path}: x contains NaN`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo < -1e-3 || hi > 1 + 1e-3) {
      const hint = lo < -0.05 && lo >= -1.001 && hi <= 1.001 ? ' (it looks like [−1, 1]: save (x + 1)/2)' : hi > 1.5 ? ' (it looks like 0..255: save uint8 or x/255)' : '';
      throw new CbdmError(`${path}: float images must lie in [0, 1], found [${lo}, ${hi}]${hint}`);
    }
    for (let i = 0; i < images.length; i++) images[i] = Math.min(1, Math.max(0, images[i]!));
  } else throw new CbdmError(`${path}: x has dtype ${x.dtype}; use float32 in [0, 1] or uint8`);
  if (y.shape.length !== 1 || y.shape[0] !== n) throw new CbdmError(`${path}: y must be ${n} labels (shape [${n}]), got shape [${y.shape.join(', ')}]`);
  if (y.dtype.startsWith('float') || y.dtype === 'bool') throw new CbdmError(`${path}: y must be integer class labels, got ${y.dtype}`);
  const labels = Int32Array.from(toFloat64(y));
  for (const c of labels) {
    if (c < 0 || (numClasses !== undefined && c >= numClasses)) throw new CbdmError(`${path}: label ${c} is outside 0..${(numClasses ?? 1) - 1}`);
  }
  const side = `${path.replace(/\.npz$/, '')}.json`;
  let meta = jsonMeta(arrays.meta);
  if (Object.keys(meta).length === 0 && existsSync(side)) {
    try {
      meta = JSON.parse(readFileSync(side, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CbdmError(`${side}: not valid JSON (${(e as Error).message})`);
    }
  }
  return { path, images, n, size: h, channels, labels, meta };
}

/** A reference stats file, validated. */
export interface RefStats extends FeatureStats {
  path: string;
  features: Float32Array | null;
  labels: Int32Array | null;
  meta: Record<string, unknown>;
}

/** Read a stats .npz (pytorch-fid's `mu`/`sigma`, plus our optional `features`/`labels`/`meta`). */
export function readStats(path: string): RefStats {
  const npz = readNpz(path);
  if (!npz.mu || !npz.sigma) {
    throw new CbdmError(`${path} is not an FID statistics file: it needs 'mu' and 'sigma' (it holds: ${Object.keys(npz).join(', ') || 'nothing'}); make one with 'cbdm eval stats'`);
  }
  const d = npz.mu.shape.length === 1 ? npz.mu.shape[0]! : -1;
  if (d < 1) throw new CbdmError(`${path}: mu must be a vector, got shape [${npz.mu.shape.join(', ')}]`);
  if (npz.sigma.shape.length !== 2 || npz.sigma.shape[0] !== d || npz.sigma.shape[1] !== d) {
    throw new CbdmError(`${path}: sigma must be ${d}×${d} to match mu, got shape [${npz.sigma.shape.join(', ')}]`);
  }
  let features: Float32Array | null = null;
  let labels: Int32Array | null = null;
  const meta = jsonMeta(npz.meta);
  let n = typeof meta.n === 'number' ? meta.n : NaN;
  if (npz.features) {
    if (npz.features.shape.length !== 2 || npz.features.shape[1] !== d) throw new CbdmError(`${path}: features must be n×${d}, got shape [${npz.features.shape.join(', ')}]`);
    features = toFloat32(npz.features);
    n = npz.features.shape[0]!;
  }
  if (npz.labels) {
    if (!features || npz.labels.shape.length !== 1 || npz.labels.shape[0] !== n) throw new CbdmError(`${path}: labels must be one per feature row (${features ? n : 0})`);
    labels = Int32Array.from(toFloat64(npz.labels));
  }
  return { path, mu: toFloat64(npz.mu), sigma: toFloat64(npz.sigma), d, n, underdetermined: n <= d, features, labels, meta };
}

/** Write a stats .npz that pytorch-fid (`np.load(f)['mu']`, `['sigma']`) reads. */
export function writeStats(path: string, s: FeatureStats, extra: { features?: Float32Array; labels?: Int32Array; meta?: Record<string, unknown> } = {}): void {
  const arrays: Record<string, NdArray> = {
    mu: { dtype: 'float64', shape: [s.d], data: s.mu },
    sigma: { dtype: 'float64', shape: [s.d, s.d], data: s.sigma },
  };
  if (extra.features) arrays.features = { dtype: 'float32', shape: [extra.features.length / s.d, s.d], data: extra.features };
  if (extra.labels) arrays.labels = fromNumbers('int32', [extra.labels.length], extra.labels);
  arrays.meta = metaArray({ ...extra.meta, n: s.n });
  writeNpz(path, arrays);
}
