/**
 * `cbdm eval`: stats files (pytorch-fid's mu/sigma format), FID between files against the closed
 * form for diagonal Gaussians, samples validation, the per-class / group pipeline with an injected
 * extractor, a tiny random-weight FID Inception end to end, and the missing-weights error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpz, readNpz } from '../../src/io/npz.ts';
import { fromNumbers, type NdArray } from '../../src/io/ndarray.ts';
import { useBackend } from '../../src/engine/index.ts';
import { FidInceptionV3 } from '../../src/metrics/inception.ts';
import { inceptionExtractor, readSamples, readStats, writeStats, metaArray, type FeatureExtractor, type ImageArray } from '../../src/metrics/features.ts';
import { runEval, formatReport, describeProtocol } from '../../src/cli/eval.ts';
import { fidOfFiles, writeReferenceStats } from '../../src/metrics/evaluate-files.ts';
import { main } from '../../src/cli/main.ts';
import { CbdmError } from '../../src/util/errors.ts';

const backend = useBackend(process.env.CBDM_BACKEND ?? 'js');
const dir = mkdtempSync(join(tmpdir(), 'cbdm-eval-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);

/** Diagonal-covariance stats: FID = ‖μ₁−μ₂‖² + Σ (√a − √b)² in closed form. */
function diagStats(mu: number[], diag: number[], n: number) {
  const d = mu.length;
  const sigma = new Float64Array(d * d);
  diag.forEach((v, i) => { sigma[i * d + i] = v; });
  return { mu: Float64Array.from(mu), sigma, n, d, underdetermined: n <= d };
}

/**
 * A deterministic extractor for pipeline tests: features are the per-channel means, the
 * per-channel standard deviations and the brightest pixel (d = 7); logits score class k by how
 * close the red mean is to k/10 (a toy classifier over 10 classes).
 */
const toyExtractor: FeatureExtractor = {
  name: 'toy',
  dim: 7,
  acceptsFloat: true,
  extract(images: ImageArray, n: number, size: number) {
    const per = 3 * size * size;
    const scale = images instanceof Uint8Array ? 1 / 255 : 1;
    const features = new Float32Array(n * 7);
    const logits = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) {
      let mx = 0;
      for (let c = 0; c < 3; c++) {
        let s = 0;
        let s2 = 0;
        for (let p = 0; p < size * size; p++) {
          const v = images[i * per + c * size * size + p]! * scale;
          s += v; s2 += v * v; mx = Math.max(mx, v);
        }
        const m = s / (size * size);
        features[i * 7 + c] = m;
        features[i * 7 + 3 + c] = Math.sqrt(Math.max(0, s2 / (size * size) - m * m));
      }
      features[i * 7 + 6] = mx;
      for (let k = 0; k < 10; k++) logits[i * 10 + k] = -Math.abs(features[i * 7]! - k / 10);
    }
    return { features, logits };
  },
};

/** n float samples of side s whose red channel is ≈ label/10 (so the toy classifier is right). */
function toySamples(n: number, s: number, seed: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * 3 * s * s);
  const y = new Int32Array(n);
  let r = seed;
  const rnd = () => ((r = (r * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    y[i] = i % 10;
    for (let p = 0; p < 3 * s * s; p++) x[i * 3 * s * s + p] = p < s * s ? Math.min(1, y[i]! / 10 + 0.03 * rnd()) : rnd();
  }
  return { x, y };
}

function writeSamples(path: string, x: NdArray, y: NdArray, meta?: Record<string, unknown>): void {
  writeNpz(path, { x, y, ...(meta ? { meta: metaArray(meta) } : {}) });
}

test('stats files: mu/sigma float64 round trip, closed-form FID, the ≤ 2048-sample note', () => {
  writeStats(file('a.npz'), diagStats([0, 1, 2], [1, 4, 9], 5000));
  writeStats(file('b.npz'), diagStats([1, 1, 0], [4, 4, 1], 100));
  const raw = readNpz(file('a.npz'));
  assert.equal(raw.mu!.dtype, 'float64');
  assert.deepEqual(raw.sigma!.shape, [3, 3]);
  const r = fidOfFiles(file('a.npz'), file('b.npz'));
  const expected = (1 + 0 + 4) + ((1 - 2) ** 2 + 0 + (3 - 1) ** 2);
  assert.ok(Math.abs(r.fid - expected) < 1e-9, `FID ${r.fid} vs ${expected}`);
  assert.ok(r.notes.some((n) => /b\.npz: 100 ≤ 2048 samples/.test(n)));
  assert.ok(!r.notes.some((n) => /a\.npz/.test(n)));
});

test('a covariance that is not PSD is regularised with eps·I, and the note says so', () => {
  writeStats(file('npsd.npz'), diagStats([0, 0], [1, -0.5], 5000));
  writeStats(file('psd.npz'), diagStats([0, 0], [1, 1], 5000));
  const r = fidOfFiles(file('npsd.npz'), file('psd.npz'));
  assert.equal(r.regularised, true);
  assert.ok(r.notes.some((n) => /added 0\.000001·I to both covariances/.test(n)), r.notes.join(" | "));
});

test('stats files: missing mu/sigma and mismatched dimensions are refused', () => {
  writeNpz(file('nomu.npz'), { sigma: fromNumbers('float64', [2, 2], [1, 0, 0, 1]) });
  assert.throws(() => readStats(file('nomu.npz')), (e: Error) => e instanceof CbdmError && /needs 'mu' and 'sigma'/.test(e.message));
  writeNpz(file('bad.npz'), { mu: fromNumbers('float64', [3], [0, 0, 0]), sigma: fromNumbers('float64', [2, 2], [1, 0, 0, 1]) });
  assert.throws(() => readStats(file('bad.npz')), /sigma must be 3×3/);
  writeStats(file('d2.npz'), diagStats([0, 0], [1, 1], 10));
  writeStats(file('d3.npz'), diagStats([0, 0, 0], [1, 1, 1], 10));
  assert.throws(() => fidOfFiles(file('d2.npz'), file('d3.npz')), /different feature networks/);
});

test('samples files: shape, range, dtype and label errors say what to fix', () => {
  const y = fromNumbers('int64', [2], [0, 1]);
  writeSamples(file('s-shape.npz'), fromNumbers('float32', [2, 2, 4, 4], new Array(64).fill(0.5)), y);
  assert.throws(() => readSamples(file('s-shape.npz')), /N×3×H×W \(RGB\) or N×1×H×W \(greyscale\)/);
  writeSamples(file('s-grey.npz'), fromNumbers('float32', [2, 1, 4, 4], new Array(32).fill(0.5)), y);
  assert.equal(readSamples(file('s-grey.npz')).channels, 1);
  writeSamples(file('s-range.npz'), fromNumbers('float32', [2, 3, 4, 4], new Array(96).fill(0).map((_, i) => (i % 7) / 3 - 1)), y);
  assert.throws(() => readSamples(file('s-range.npz')), /looks like \[−1, 1\]/);
  writeSamples(file('s-255.npz'), fromNumbers('float32', [2, 3, 4, 4], new Array(96).fill(200)), y);
  assert.throws(() => readSamples(file('s-255.npz')), /0\.\.255/);
  writeSamples(file('s-dtype.npz'), fromNumbers('int32', [2, 3, 4, 4], new Array(96).fill(1)), y);
  assert.throws(() => readSamples(file('s-dtype.npz')), /dtype int32/);
  writeSamples(file('s-ylen.npz'), fromNumbers('uint8', [2, 3, 4, 4], new Array(96).fill(1)), fromNumbers('int64', [3], [0, 1, 2]));
  assert.throws(() => readSamples(file('s-ylen.npz')), /y must be 2 labels/);
  writeSamples(file('s-ycls.npz'), fromNumbers('uint8', [2, 3, 4, 4], new Array(96).fill(1)), fromNumbers('int64', [2], [0, 12]));
  assert.throws(() => readSamples(file('s-ycls.npz'), 10), /label 12 is outside 0\.\.9/);
  writeSamples(file('s-ok.npz'), fromNumbers('uint8', [2, 3, 4, 4], new Array(96).fill(1)), y, { sampler: 'ddim', steps: 50, omega: 1.5, eta: 0 });
  const s = readSamples(file('s-ok.npz'));
  assert.equal(s.n, 2);
  assert.equal(s.size, 4);
  assert.deepEqual(s.meta, { sampler: 'ddim', steps: 50, omega: 1.5, eta: 0 });
});

test('per-class and Many/Medium/Few metrics with an injected extractor; protocol read from the samples metadata; eval.json written', async () => {
  const ref = toySamples(400, 6, 1);
  const feats = toyExtractor.extract(ref.x, 400, 6).features;
  // training counts 500 → 5 (the shapes10-lt profile): groups many {0,1,2,3}, medium {4,5,6}, few {7,8,9}
  const counts = [500, 299, 179, 107, 64, 38, 23, 13, 8, 5];
  const { featureStats } = await import('../../src/metrics/fid.ts');
  writeStats(file('ref.npz'), featureStats(feats, 400, 7), { features: feats, labels: ref.y, meta: { extractor: 'toy', counts } });
  const fake = toySamples(200, 6, 2);
  writeSamples(file('fake.npz'), { dtype: 'float32', shape: [200, 3, 6, 6], data: fake.x }, fromNumbers('int64', [200], fake.y), { sampler: 'ddpm', steps: 1000, omega: 1.6 });
  const runDir = file('run');
  mkdirSync(runDir);
  writeFileSync(join(runDir, 'data.json'), JSON.stringify({ name: 'toy', classNames: counts.map((_, i) => `c${i}`), counts }));
  const r = await runEval({ samples: file('fake.npz'), ref: file('ref.npz'), perClass: true, run: runDir, extractor: 'inception', batch: 64, quiet: true }, toyExtractor);
  assert.equal(r.protocol.sampler, 'ddpm');
  assert.equal(r.protocol.steps, 1000);
  assert.equal(r.protocol.omega, 1.6);
  assert.equal(r.protocol.nPerClass, 20);
  assert.match(describeProtocol(r.protocol), /protocol A \(CBDM paper/);
  assert.ok(typeof r.overall.fid === 'number' && r.overall.fid >= 0 && r.overall.fid < 0.05, `same-distribution FID ${r.overall.fid}`);
  assert.equal(r.overall.accuracy, 1);
  assert.equal(r.perClass.length, 10);
  assert.deepEqual(r.perClass.map((c) => c.group), ['many', 'many', 'many', 'many', 'medium', 'medium', 'medium', 'few', 'few', 'few']);
  for (const c of r.perClass) assert.ok(typeof c.fid === 'number' && Number.isFinite(c.fid), `class ${c.class} fid ${c.fid}`);
  for (const g of ['many', 'medium', 'few'] as const) {
    const rows = r.perClass.filter((c) => c.group === g);
    const mean = rows.reduce((a, c) => a + (c.fid as number), 0) / rows.length;
    assert.ok(Math.abs((r.groups[g].fid as number) - mean) < 1e-12, 'a group value is the mean over its classes');
    assert.ok(typeof r.groups[g].recall === 'number' && typeof r.groups[g].kid === 'number');
  }
  assert.ok((r.overall.precision as number) > 0.8 && (r.overall.recall as number) > 0.8, `P ${r.overall.precision} R ${r.overall.recall}`);
  assert.ok(Math.abs(r.overall.kid as number) < 0.01, `KID ${r.overall.kid}`);
  assert.equal(r.overall.is, undefined, 'no IS without the Inception');
  assert.ok(r.notes.some((n) => /200 ≤ 2048 samples/.test(n)));
  const written = JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8'));
  assert.equal(written.perClass.length, 10);
  assert.equal(written.protocol.featureExtractor, 'toy');
  assert.match(formatReport(r), /few \(3 classes\)/);
  assert.match(formatReport(r).split('\n')[2]!, /^ +FID +/, 'features of a generic extractor: FID');
  assert.match(formatReport({ ...r, protocol: { ...r.protocol, featureExtractor: 'shapes10-16-domain' } }).split('\n')[2]!, /^ +domain-FID /, 'the domain classifier\'s features: domain-FID');
  // a shifted sample set is measurably worse
  for (let i = 0; i < fake.x.length; i++) fake.x[i] = Math.min(1, fake.x[i]! * 0.7 + 0.2);
  writeSamples(file('fake2.npz'), { dtype: 'float32', shape: [200, 3, 6, 6], data: fake.x }, fromNumbers('int64', [200], fake.y));
  const r2 = await runEval({ samples: file('fake2.npz'), ref: file('ref.npz'), extractor: 'inception', batch: 64, quiet: true }, toyExtractor);
  assert.ok((r2.overall.fid as number) > 10 * (r.overall.fid as number) + 0.01, `shifted FID ${r2.overall.fid} vs ${r.overall.fid}`);
  assert.equal(r2.protocol.known, false);
  await assert.rejects(runEval({ samples: file('fake2.npz'), ref: file('ref.npz'), run: runDir, extractor: 'inception', batch: 64, quiet: true }, toyExtractor), /pass --sampler, --steps and --omega/);
  assert.match(describeProtocol(r2.protocol), /protocol: unknown/);
});

test('stats from a dataset and eval of samples with a tiny random-weight FID Inception', async () => {
  const net = new FidInceptionV3({ widthDivisor: 16, numClasses: 20, inputSize: 75 }).materialize(backend, 3);
  const ex = inceptionExtractor(net, 'inception-v3-fid-tiny-random');
  const st = await writeReferenceStats({ dataset: 'shapes10-lt', size: 16, out: file('shapes-ref.npz'), extractor: 'inception', batch: 128, features: true, quiet: true }, ex);
  assert.equal(st.n, 1236);
  assert.equal(st.d, 128);
  const ref = readStats(file('shapes-ref.npz'));
  assert.equal(ref.features!.length, 1236 * 128);
  assert.equal(ref.meta.extractor, 'inception-v3-fid-tiny-random');
  const fake = toySamples(30, 16, 5);
  writeSamples(file('shapes-fake.npz'), { dtype: 'float32', shape: [30, 3, 16, 16], data: fake.x }, fromNumbers('int64', [30], fake.y));
  const r = await runEval({ samples: file('shapes-fake.npz'), ref: file('shapes-ref.npz'), perClass: true, extractor: 'inception', batch: 16, quiet: true }, ex);
  assert.ok(typeof r.overall.fid === 'number' && r.overall.fid > 0);
  assert.equal(r.perClass[9]!.count, 5);
  assert.equal(r.perClass[9]!.group, 'few');
  assert.ok(r.notes.some((n) => /covariances are singular/.test(n)), 'tiny classes are flagged as singular');
  assert.ok(typeof r.overall.is === 'number' && r.overall.is >= 1, `IS ${r.overall.is}`);
  assert.ok(typeof r.overall.precision === 'number' && typeof r.overall.recall === 'number');
  assert.equal(r.overall.accuracy, undefined, 'no class accuracy from the Inception');
  assert.throws(() => readSamples(file('shapes-ref.npz')), /must hold 'x'/);
  net.dispose();
});

test('cbdm eval without weights names the file and the download URL; cbdm eval fid prints JSON', async () => {
  const errs: string[] = [];
  const logs: string[] = [];
  const origErr = console.error;
  const origLog = console.log;
  console.error = (...a: unknown[]) => { errs.push(a.join(' ')); };
  console.log = (...a: unknown[]) => { logs.push(a.join(' ')); };
  const prevEnv = process.env.CBDM_INCEPTION;
  const prevCode = process.exitCode;
  try {
    process.env.CBDM_INCEPTION = join(dir, 'nope.pth');
    await main(['eval', '--samples', file('s-ok.npz'), '--ref', file('a.npz'), '--quiet']);
    assert.equal(process.exitCode, 2);
    const msg = errs.join('\n');
    assert.match(msg, /pt_inception-2015-12-05-6726825d\.pth/);
    assert.match(msg, /https:\/\/github\.com\/mseitzer\/pytorch-fid\/releases\/download\/fid_weights\/pt_inception-2015-12-05-6726825d\.pth/);
    process.exitCode = 0;
    await main(['eval', 'fid', file('a.npz'), file('b.npz'), '--json']);
    const out = JSON.parse(logs[logs.length - 1]!);
    assert.ok(Math.abs(out.fid - 10) < 1e-9);
  } finally {
    console.error = origErr;
    console.log = origLog;
    if (prevEnv === undefined) delete process.env.CBDM_INCEPTION; else process.env.CBDM_INCEPTION = prevEnv;
    process.exitCode = prevCode;
  }
});

test('extractFeatures: batches of any remainder, logits kept, floats rounded for uint8-only extractors', async () => {
  const { extractFeatures } = await import('../../src/metrics/features.ts');
  const seen: string[] = [];
  const u8only: FeatureExtractor = {
    name: 'u8-only',
    dim: 2,
    extract(images: ImageArray, n: number, size: number) {
      seen.push(`${images.constructor.name}:${n}`);
      const per = 3 * size * size;
      const features = new Float32Array(n * 2);
      for (let i = 0; i < n; i++) { features[i * 2] = images[i * per]!; features[i * 2 + 1] = i; }
      return { features, logits: Float32Array.from({ length: n * 3 }, (_, j) => j % 3) };
    },
  };
  const x = Float32Array.from({ length: 7 * 3 * 2 * 2 }, (_, i) => (i % 12 === 0 ? (i / 12) / 10 : 0.5));
  const fs = extractFeatures(u8only, x, 7, 2, { batchSize: 3, progress: false });
  assert.deepEqual(seen, ['Uint8Array:3', 'Uint8Array:3', 'Uint8Array:1']);
  assert.equal(fs.quantized, true);
  assert.deepEqual([...fs.features].filter((_, i) => i % 2 === 0), [0, 26, 51, 77, 102, 128, 153]);
  assert.equal(fs.logitsDim, 3);
  assert.equal(fs.logits!.length, 21);
  assert.throws(() => extractFeatures(u8only, x, 8, 2), /are not 8 images/);
});

test('KID / precision-recall products on a compute backend match the float64 TypeScript gemm', async () => {
  const { backendGemmABt } = await import('../../src/metrics/evaluate.ts');
  const { jsGemmABt } = await import('../../src/metrics/linalg.ts');
  const { backendAvailable, getBackend } = await import('../../src/engine/index.ts');
  const [m, p, k] = [37, 29, 50];
  const a = Float64Array.from({ length: m * k }, (_, i) => Math.sin(i * 0.37));
  const b = Float64Array.from({ length: p * k }, (_, i) => Math.cos(i * 0.11));
  const want = new Float64Array(m * p);
  jsGemmABt(a, b, m, p, k, want);
  for (const name of (['js', 'cpu'] as const).filter((n) => backendAvailable(n))) {
    const got = new Float64Array(m * p);
    backendGemmABt(getBackend(name))(a, b, m, p, k, got);
    let err = 0;
    for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    assert.ok(err < 1e-4, `${name}: max error ${err}`);
  }
});
