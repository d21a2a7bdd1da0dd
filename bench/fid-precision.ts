/**
 * How much bf16 compute moves FID / IS (issue 5): the FID Inception's features of two image sets,
 * computed in fp32 and with CBDM_PRECISION=bf16, and the metrics from each.
 *
 *   node --import tsx bench/fid-precision.ts [--per-class 100] [--weights FILE]
 *
 * Sets: A = shapes10-lt at 32 px (1,236 long-tailed training images), B = fresh balanced
 * generator images (--per-class per class, seed 7). Weights: --weights (the published
 * pt_inception file or a safetensors conversion) or, without it, a random-weight FID Inception
 * (seed 1) — the same network and arithmetic, but not the published feature geometry, so read
 * the relative changes. Prints one JSON object.
 */
import { useBackend } from '../src/engine/backends.ts';
import { FidInceptionV3 } from '../src/metrics/inception.ts';
import { atPrecision, inceptionExtractor, extractFeatures } from '../src/metrics/features.ts';
import { loadFidInception } from '../src/metrics/inception-weights.ts';
import { featureStats, frechetDistance } from '../src/metrics/fid.ts';
import { inceptionScore } from '../src/metrics/inception-score.ts';
import { loadDataset } from '../src/data/registry.ts';
import { sampleShapesBalanced } from '../src/data/shapes.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const perClass = Number(arg('per-class') ?? 100);
const weights = arg('weights');
const be = useBackend();
const net = weights ? loadFidInception(weights, be) : new FidInceptionV3().materialize(be, 1);
const ext = inceptionExtractor(net);
const A = await loadDataset({ name: 'shapes10-lt', size: 32 });
const B = sampleShapesBalanced({ classes: 10, size: 32, perClass, seed: 7 });

function features(p: 'fp32' | 'bf16') {
  const ex = atPrecision(ext, p);
  const t = performance.now();
  const fa = extractFeatures(ex, A.images, A.labels.length, 32, { progress: false });
  const fb = extractFeatures(ex, B.images, B.labels.length, 32, { progress: false });
  return { fa, fb, seconds: (performance.now() - t) / 1000 };
}
const f32 = features('fp32'), f16 = features('bf16');
const d = f32.fa.dim;
const st = (f: Float32Array, n: number) => featureStats(f, n, d);
const nA = A.labels.length, nB = B.labels.length;
const sA32 = st(f32.fa.features, nA), sB32 = st(f32.fb.features, nB), sA16 = st(f16.fa.features, nA), sB16 = st(f16.fb.features, nB);
const fid = (x: ReturnType<typeof st>, y: ReturnType<typeof st>) => frechetDistance(x.mu, x.sigma, y.mu, y.sigma, d).fid;
/** ‖a − b‖ / ‖b‖ over all entries, and the largest per-image relative error. */
function errs(a: Float32Array, b: Float32Array, dim: number) {
  let num = 0, den = 0, worst = 0;
  for (let r = 0; r < a.length / dim; r++) {
    let n2 = 0, d2 = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) { n2 += (a[j]! - b[j]!) ** 2; d2 += b[j]! ** 2; }
    num += n2; den += d2; worst = Math.max(worst, Math.sqrt(n2 / d2));
  }
  return { rms_rel: Math.sqrt(num / den), worst_image_rel: worst };
}
const fid32 = fid(sA32, sB32), fid16 = fid(sA16, sB16);
const is = (f: typeof f32.fb) => inceptionScore(f.logits!, f.n, f.logitsDim, 10).mean;
console.log(JSON.stringify({
  weights: weights ?? 'random (seed 1)',
  sets: { A: `shapes10-lt 32px train (${nA})`, B: `balanced generator, seed 7 (${nB})` },
  features_bf16_vs_fp32: { A: errs(f16.fa.features, f32.fa.features, d), B: errs(f16.fb.features, f32.fb.features, d) },
  fid_fp32: fid32,
  fid_bf16: fid16,
  fid_rel_change: (fid16 - fid32) / fid32,
  fid_mixed_refFp32_samplesBf16: fid(sA32, sB16),
  fid_A_fp32_vs_A_bf16: fid(sA32, sA16),
  is_B_fp32: is(f32.fb),
  is_B_bf16: is(f16.fb),
  seconds: { fp32: f32.seconds, bf16: f16.seconds },
}, null, 1));
