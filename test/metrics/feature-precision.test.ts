/**
 * Feature precision: FID features are computed in fp32 unless --feature-precision bf16 asks for
 * bf16, whatever CBDM_PRECISION (the training / sampling setting) says; the choice is recorded
 * in the stats file and the protocol, and an FID across precisions carries a note.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendAvailable, useBackend } from '../../src/engine/backends.ts';
import { cpuInfo, setCpuPrecision, computePrecision } from '../../src/engine/cpu/load.ts';
import { FidInceptionV3 } from '../../src/metrics/inception.ts';
import { atPrecision, inceptionExtractor, readStats } from '../../src/metrics/features.ts';
import { writeSamplesNpz } from '../../src/diffusion/samples-file.ts';
import { runEval } from '../../src/cli/eval.ts';
import { writeReferenceStats } from '../../src/metrics/evaluate-files.ts';
import { sampleShapesBalanced } from '../../src/data/shapes.ts';

const skip = !backendAvailable('cpu') ? 'native cpu backend not built'
  : cpuInfo()?.bf16 ? false : 'this CPU has no AVX512-BF16 (bf16 compute unavailable)';

test('feature precision: fp32 unless asked for, recorded in stats and protocol, mixing noted', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-featprec-'));
  const before = setCpuPrecision('fp32');
  const envBefore = process.env.CBDM_PRECISION;
  try {
    const be = useBackend('cpu');
    const net = new FidInceptionV3({ widthDivisor: 8, numClasses: 20, inputSize: 75 }).materialize(be, 3);
    const ex = inceptionExtractor(net, 'inception-v3-fid-tiny-random');
    const imgs = sampleShapesBalanced({ classes: 10, size: 16, perClass: 2, seed: 5 });
    const n = imgs.labels.length;
    const plain = ex.extract(imgs.images, n, 16).features;
    setCpuPrecision('bf16');  // a training setting must not leak into the features
    const f32 = atPrecision(ex, 'fp32').extract(imgs.images, n, 16).features;
    assert.deepEqual(Array.from(f32), Array.from(plain), 'fp32 features are bit-identical to a run computing in fp32');
    assert.equal(computePrecision(), 'bf16', 'the setting is restored');
    assert.equal(process.env.CBDM_PRECISION, envBefore, 'the environment is never mutated');
    const f16 = atPrecision(ex, 'bf16').extract(imgs.images, n, 16).features;
    let num = 0, den = 0;
    for (let i = 0; i < f16.length; i++) { num += (f16[i]! - plain[i]!) ** 2; den += plain[i]! ** 2; }
    const rel = Math.sqrt(num / den);
    assert.ok(rel > 1e-4 && rel < 5e-2, `bf16 features differ from fp32 by a bf16-sized amount (${rel.toExponential(2)})`);

    const ref = join(dir, 'ref.npz');
    await writeReferenceStats({ dataset: 'shapes10-lt', size: 16, out: ref, extractor: 'inception', batch: 256, features: true, featurePrecision: 'bf16', quiet: true }, ex);
    assert.equal(readStats(ref).meta.featurePrecision, 'bf16');
    const samples = join(dir, 'samples.npz');
    const x = Float32Array.from(imgs.images, (v) => v / 255);
    writeSamplesNpz(samples, x, imgs.labels, 16, { sampler: 'ddim', steps: 10, omega: 1, n, labels: 'balanced', seed: 0 });
    const mixed = await runEval({ samples, ref, extractor: 'inception', batch: 20, quiet: true }, ex);
    assert.ok(mixed.notes.some((m) => /mixes precisions/.test(m)), 'fp32 samples against bf16 stats are flagged');
    assert.equal(mixed.protocol.featureExtractor, 'inception-v3-fid-tiny-random');
    const same = await runEval({ samples, ref, extractor: 'inception', batch: 20, featurePrecision: 'bf16', quiet: true }, ex);
    assert.ok(!same.notes.some((m) => /mixes precisions/.test(m)));
    assert.equal(same.protocol.featureExtractor, 'inception-v3-fid-tiny-random (bf16 compute)');
    assert.equal(same.protocol.featurePrecision, 'bf16');
    net.dispose();
  } finally {
    setCpuPrecision(before);
    rmSync(dir, { recursive: true, force: true });
  }
});
