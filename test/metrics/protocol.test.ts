/**
 * The evaluation protocol (src/metrics/protocol.ts) and a run's evaluation under it
 * (src/metrics/evaluate-run.ts): built-ins and files with their errors, the ω policies, the tuned ω
 * as the grid's argmin (on a constructed case where one ω must win), the protocol round trip
 * through eval.json, and the CLI's refusals. The model is the sampler tests' 4×4 greyscale UNet,
 * the features a deterministic toy extractor, so everything runs in a few seconds on js.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../../src/engine/index.ts';
import { argminOmega, BUILTIN_PROTOCOLS, describeProtocol, loadProtocol, parseProtocolSpec, protocolDifferences, publishedOmega, type ProtocolSpec } from '../../src/metrics/protocol.ts';
import { evaluateRunUnderProtocol } from '../../src/metrics/evaluate-run.ts';
import { extractFeatures, readSamples, writeStats, type FeatureExtractor, type ImageArray } from '../../src/metrics/features.ts';
import { featureStats } from '../../src/metrics/fid.ts';
import { generate } from '../../src/diffusion/generate.ts';
import { makeSchedule, linearBetas } from '../../src/diffusion/schedule.ts';
import { loadRunModel } from '../../src/models/load.ts';
import { writeEvalJson, readRunDir } from '../../src/report/run-dir.ts';
import { main } from '../../src/cli/main.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { writeSamplerTestRun } from '../report/sampler-run.ts';

const backend = useBackend(process.env.CBDM_BACKEND ?? 'js');
const dir = mkdtempSync(join(tmpdir(), 'cbdm-protocol-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);

/** Greyscale features: mean, sd, max, min and the top-left pixel of each image (d = 5). */
const toyGrey: FeatureExtractor = {
  name: 'toy-grey', dim: 5, acceptsFloat: true, channels: 1,
  extract(images: ImageArray, n: number) {
    const per = images.length / n;
    const scale = images instanceof Uint8Array ? 1 / 255 : 1;
    const features = new Float32Array(n * 5);
    for (let i = 0; i < n; i++) {
      let s = 0, s2 = 0, mx = -Infinity, mn = Infinity;
      for (let p = 0; p < per; p++) {
        const v = images[i * per + p]! * scale;
        s += v; s2 += v * v; mx = Math.max(mx, v); mn = Math.min(mn, v);
      }
      const m = s / per;
      features.set([m, Math.sqrt(Math.max(0, s2 / per - m * m)), mx, mn, images[i * per]! * scale], i * 5);
    }
    return { features };
  },
};

/** A stats file of the toy features of `x` (n images), saying which split it holds. */
function toyStats(path: string, x: Float32Array, y: Int32Array, split: string): void {
  const fs = extractFeatures(toyGrey, x, y.length, 4, { channels: 1, progress: false });
  writeStats(path, featureStats(fs.features, y.length, 5), { features: fs.features, labels: y, meta: { dataset: 'test-3', split, extractor: 'toy-grey', counts: [50, 10, 2], classNames: ['ring', 'bar', 'dot'] } });
}

test('built-in protocols and protocol files: base + changed fields, every field checked, errors name the file and field', () => {
  assert.deepEqual(Object.keys(BUILTIN_PROTOCOLS).sort(), ['cbdm', 'ddim50', 'fast']);
  const cbdm = loadProtocol('cbdm');
  assert.equal(cbdm.sampler, 'ddpm');
  assert.equal(cbdm.steps, 'all');
  assert.deepEqual(cbdm.omega, { kind: 'published' });
  assert.equal(cbdm.labels, 'iid-uniform');
  assert.equal(cbdm.reference, 'train');
  assert.deepEqual(loadProtocol('ddim50').omega, { kind: 'fixed', value: 1.5 });
  const path = file('p.json');
  writeFileSync(path, JSON.stringify({ base: 'fast', steps: 20, omega: { kind: 'tuned', grid: [2, 0, 1, 1] } }));
  const p = loadProtocol(path);
  assert.equal(p.name, 'p');
  assert.equal(p.steps, 20);
  assert.equal(p.sampler, 'ddim', 'the base supplies what the file leaves out');
  assert.deepEqual(p.omega, { kind: 'tuned', grid: [0, 1, 2], nPerClass: 10, seed: 1 }, 'grid sorted and deduplicated, defaults filled');
  const bad = (o: unknown, re: RegExp) => assert.throws(() => parseProtocolSpec(o, 'x.json'), (e: Error) => e instanceof CbdmError && re.test(e.message), re.source);
  bad({ base: 'fast', smaple: 'ddim' }, /^x\.json: 'smaple' is not a protocol field/);
  bad({ sampler: 'ddim' }, /^x\.json: 'steps' is missing/);
  bad({ base: 'fast', omega: -1 }, /'omega' must be ≥ 0/);
  bad({ base: 'fast', omega: 'best' }, /'omega' must be a number \(fixed ω\), "run", "published"/);
  bad({ base: 'fast', omega: { kind: 'tuned', grid: [1] } }, /grid must be a list of at least two/);
  bad({ base: 'fast', labels: 'random' }, /'labels' must be "iid-uniform" or "balanced"/);
  bad({ base: 'fast', reference: 'val' }, /'reference' must be "train" or "test"/);
  bad({ base: 'fast', sampler: 'plms' }, /'sampler' must be one of ddpm, ddim/);
  bad({ base: 'fast', eta: 2 }, /'eta' must be a number in \[0, 1\]/);
  bad({ base: 'nope' }, /'base' must be one of/);
  assert.throws(() => loadProtocol('fastest'), /--protocol 'fastest' is neither a protocol \(fast, cbdm, ddim50\) nor a \.json protocol file/);
  writeFileSync(file('broken.json'), '{');
  assert.throws(() => loadProtocol(file('broken.json')), /broken\.json: cannot read it as JSON/);
});

test('ω policies: the published values per method (CBDM paper, OC_LT), refusals for CM and CORAL; the tuned ω is the argmin, ties to the smaller ω', () => {
  const info = (method: string, o: { coral?: boolean; finetune?: boolean } = {}) => ({ method, coral: o.coral ?? false, finetune: o.finetune ?? false, omegaEval: 3 });
  assert.equal(publishedOmega(info('ddpm')).omega, 0.8);
  assert.equal(publishedOmega(info('cbdm')).omega, 1.6);
  assert.equal(publishedOmega(info('cbdm', { finetune: true })).omega, 2.0);
  assert.equal(publishedOmega(info('t2h')).omega, 1.5);
  assert.throws(() => publishedOmega(info('cm')), /method 'cm' has no published ω/);
  assert.throws(() => publishedOmega(info('cbdm', { coral: true })), /CORAL publishes no ω/);
  assert.equal(argminOmega([0, 0.5, 1, 2], [3, 1, 1, 2]), 0.5);
  assert.equal(argminOmega([0, 1, 2], [Number.NaN, 4, 5]), 1, 'a non-finite criterion never wins');
  assert.throws(() => argminOmega([0, 1], [Number.NaN, Number.POSITIVE_INFINITY]), /not finite for any ω/);
});

test('a run under a protocol file: tuned ω = the grid value whose samples are the training statistics; spec, ω search and reference in eval.json; the spec reads back as a protocol file', async () => {
  const run = file('run');
  writeSamplerTestRun(run);
  const spec: ProtocolSpec = { ...BUILTIN_PROTOCOLS.fast, name: 'tiny', steps: 3, perClass: 4, seed: 2, reference: 'test', extractor: 'domain', omega: { kind: 'tuned', grid: [0, 1, 3], nPerClass: 4, seed: 7 } };
  writeFileSync(file('tiny.json'), JSON.stringify(spec));
  // Constructed case: the "training statistics" are those of exactly the tuning samples at ω = 3,
  // so ω = 3 has FID 0 and must be chosen; the other ω change the samples, hence the statistics.
  const m = loadRunModel(run, backend);
  const sched = makeSchedule(linearBetas(1000, 1e-4, 0.02));
  const at3 = await generate(m.net, sched, { n: 12, labels: { kind: 'balanced' }, sampler: 'ddim', steps: 3, spacing: 'uniform', eta: 1, omega: 3, variance: 'fixedlarge', clip: 'none', batch: 64, seed: 7 });
  toyStats(file('train.npz'), at3.x, at3.y, 'train');
  const other = await generate(m.net, sched, { n: 12, labels: { kind: 'balanced' }, sampler: 'ddim', steps: 3, eta: 1, omega: 0, variance: 'fixedlarge', clip: 'none', batch: 64, seed: 99 });
  toyStats(file('test.npz'), other.x, other.y, 'test');

  const base = { run, spec: loadProtocol(file('tiny.json')), specSource: file('tiny.json'), ref: file('test.npz'), tuneRef: file('train.npz'), batch: 50, quiet: true };
  const r = await evaluateRunUnderProtocol(base, toyGrey);
  const t = r.protocol.omegaTuning!;
  assert.deepEqual(t.grid, [0, 1, 3]);
  assert.ok(t.values.every((v) => typeof v === 'number'), JSON.stringify(t.values));
  assert.ok(t.values[2]! < 1e-6 && t.values[0]! > 1e-3 && t.values[1]! > 1e-3, `FID per ω: ${t.values.join(', ')}`);
  assert.equal(t.chosen, 3);
  assert.equal(r.protocol.omega, 3, 'the evaluation samples use the chosen ω');
  assert.equal(readSamples(join(run, 'samples.npz')).meta.omega, 3);
  assert.equal(r.protocol.nPerClass, 4);
  assert.equal(r.protocol.sampler, 'ddim');
  assert.equal(r.protocol.steps, 4, 'uniform spacing of 3 requested steps over T = 1000 visits 4 grid points (recorded as visited)');
  assert.deepEqual(r.protocol.reference, { file: file('test.npz'), dataset: 'test-3', split: 'test', n: 12 });
  assert.match(r.protocol.omegaTuning!.criterion, /train split, 12 images/);
  assert.match(describeProtocol(r.protocol), /^DDIM, 4 steps \(uniform spacing\), η = 1, ω = 3 \(tuned: lowest of 3 grid values by FID against train-split statistics\), 4 samples\/class \(balanced labels\), features: toy-grey, reference: test-3 test split, 12 images \[protocol 'tiny'\]$/);

  // eval.json holds the spec verbatim; read back, it is the same protocol, and the report sees no difference
  const { notes: _n, ...result } = r;
  writeEvalJson(run, result);
  const stored = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')) as { protocol: { spec: ProtocolSpec; specSource: string } };
  assert.deepEqual(stored.protocol.spec, spec);
  assert.equal(stored.protocol.specSource, file('tiny.json'));
  writeFileSync(file('again.json'), JSON.stringify(stored.protocol.spec));
  assert.deepEqual(loadProtocol(file('again.json')), spec);
  const back = await readRunDir(run);
  assert.deepEqual(protocolDifferences(back.eval!.protocol, r.protocol), []);

  // the same protocol again reproduces the tuning and the numbers (seeded)
  const r2 = await evaluateRunUnderProtocol(base, toyGrey);
  assert.deepEqual(r2.protocol.omegaTuning!.values, t.values);
  assert.equal(r2.overall.fid, r.overall.fid);

  // the tuning never uses test statistics; the reference must be the split the protocol names
  await assert.rejects(evaluateRunUnderProtocol({ ...base, tuneRef: undefined }, toyGrey), /ω tuning needs training-split statistics \(never the test split\): .*test\.npz holds the test split; give --tune-ref/);
  await assert.rejects(evaluateRunUnderProtocol({ ...base, ref: file('train.npz') }, toyGrey), /train\.npz holds the train split, but the protocol's reference is the test split: make it with cbdm eval stats --split test/);
  // fixed and run policies; published refuses what has no published value
  const fixed = await evaluateRunUnderProtocol({ ...base, spec: { ...spec, omega: { kind: 'fixed', value: 0.5 } } }, toyGrey);
  assert.equal(fixed.protocol.omega, 0.5);
  assert.equal(fixed.protocol.omegaTuning, undefined);
  const own = await evaluateRunUnderProtocol({ ...base, spec: { ...spec, omega: { kind: 'run' } } }, toyGrey);
  assert.equal(own.protocol.omega, 1.5, 'the test run\'s omegaEval');
  const published = await evaluateRunUnderProtocol({ ...base, spec: { ...spec, omega: { kind: 'published' } } }, toyGrey);
  assert.equal(published.protocol.omega, 1.6);
  assert.equal(published.protocol.omegaSource, 'published for CBDM (CBDM paper)');
  assert.deepEqual(protocolDifferences(fixed.protocol, own.protocol), ['spec.omega.kind: "fixed" ≠ "run"', 'spec.omega.value: 0.5 ≠ —']);
});

test('cbdm eval --protocol: needs --run and --ref, refuses --samples and flags the protocol fixes', async () => {
  const errs: string[] = [];
  const origErr = console.error;
  const prevCode = process.exitCode;
  console.error = (...a: unknown[]) => { errs.push(a.join(' ')); };
  const run = file('cli-run');
  writeSamplerTestRun(run);
  const cases: [string[], RegExp][] = [
    [['eval', '--protocol', 'fast', '--ref', 'r.npz'], /--protocol evaluates a run: give --run DIR/],
    [['eval', '--protocol', 'fast', '--run', run, '--samples', 's.npz', '--ref', 'r.npz'], /leave out --samples/],
    [['eval', '--protocol', 'fast', '--run', run], /--protocol needs --ref FILE/],
    [['eval', '--protocol', 'fast', '--run', run, '--ref', 'r.npz', '--sampler', 'ddpm'], /--sampler conflicts with --protocol, which fixes it/],
    [['eval', '--protocol', 'fast', '--run', run, '--ref', 'r.npz', '--extractor', 'domain'], /--extractor conflicts with --protocol/],
    [['eval', '--protocol', 'quick', '--run', run, '--ref', 'r.npz'], /--protocol 'quick' is neither a protocol/],
    [['eval', '--samples', 's.npz', '--ref', 'r.npz', '--tune-ref', 't.npz'], /--tune-ref applies with --protocol only/],
  ];
  try {
    for (const [argv, re] of cases) {
      errs.length = 0;
      process.exitCode = 0;
      await main([...argv, '--quiet']);
      assert.equal(process.exitCode, 2, argv.join(' '));
      assert.match(errs.join('\n'), re, argv.join(' '));
    }
  } finally {
    console.error = origErr;
    process.exitCode = prevCode;
  }
});

test('the library\'s evaluateRun checks its options and names their fields', async () => {
  const { evaluateRun } = await import('../../src/api/evaluate.ts');
  await assert.rejects(evaluateRun({ run: '', protocol: 'fast', ref: 'r.npz' }), /run must name a run directory/);
  await assert.rejects(evaluateRun({ run: file('run'), protocol: { base: 'fast', steps: 0 } as unknown as ProtocolSpec, ref: 'r.npz' }), /protocol: 'steps' must be a positive integer or "all", got 0/);
  await assert.rejects(evaluateRun({ run: file('run'), protocol: 'fast', ref: 'r.npz', batch: 0 }), /batch must be a positive integer, got 0/);
});
