/**
 * Sharded sample runs: resume after a kill without redoing or duplicating images (bit-identical to
 * an uninterrupted run), a different request in the same folder is refused, and `cbdm eval` reads
 * the shards one at a time with the same result as one file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../src/engine/index.ts';
import { UNet } from '../../src/models/unet.ts';
import { defaultSchedule } from '../../src/diffusion/schedule.ts';
import { generate } from '../../src/diffusion/generate.ts';
import { readShardManifest, sampleToShards, shardPath } from '../../src/diffusion/shards.ts';
import { readSamples, writeStats } from '../../src/metrics/features.ts';
import { featureStats } from '../../src/metrics/fid.ts';
import { writeSamplesNpz } from '../../src/diffusion/samples-file.ts';
import { runEval } from '../../src/cli/eval.ts';
import type { FeatureExtractor, ImageArray } from '../../src/metrics/features.ts';
import { CBDM } from '../cli/source-cli.ts';

const root = mkdtempSync(join(tmpdir(), 'cbdm-shards-test-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const CKPT = join(import.meta.dirname, '..', 'fixtures', 'unet', 'tiny_ckpt.pt');

const be = E.useBackend(process.env.CBDM_BACKEND ?? 'cpu');
const net = new UNet({ T: 1000, ch: 32, chMult: [1, 1], attn: [], numResBlocks: 1, dropout: 0, numClasses: 3, imageSize: 8 });
net.store.materialize(be, 7);
const sched = defaultSchedule();
const base = {
  sampler: 'dpmpp-2m' as const, steps: 4, eta: 0, omega: 1.2, variance: 'fixedlarge' as const, clip: 'none' as const,
  batch: 4, seed: 3, model: 'random-init',
};

const bytes = (p: string) => readFileSync(p);

test('a sharded run resumes after a lost shard and a leftover temp file, bit-identical to an uninterrupted run', async () => {
  const a = join(root, 'a'), b = join(root, 'b');
  const ra = await sampleToShards(a, net, sched, { ...base, n: 25, shardSize: 10, labels: { kind: 'balanced' } });
  assert.equal(ra.written, 3);
  await sampleToShards(b, net, sched, { ...base, n: 25, shardSize: 10, labels: { kind: 'balanced' } });
  unlinkSync(shardPath(b, 1));
  writeFileSync(join(b, '.shard-00001.npz.123.abc.tmp'), 'half a shard');
  const rb = await sampleToShards(b, net, sched, { ...base, n: 25, shardSize: 10, labels: { kind: 'balanced' } });
  assert.deepEqual([rb.written, rb.skipped], [1, 2]);
  assert.ok(!existsSync(join(b, '.shard-00001.npz.123.abc.tmp')), 'leftover temp file removed');
  for (let k = 0; k < 3; k++) assert.ok(bytes(shardPath(a, k)).equals(bytes(shardPath(b, k))), `shard ${k}`);
  // Balanced labels continue across shards; the last shard holds the remainder.
  const labels = [0, 1, 2].flatMap((k) => Array.from(readSamples(shardPath(a, k)).labels));
  assert.deepEqual(labels, Array.from({ length: 25 }, (_, i) => i % 3));
  assert.equal(readShardManifest(a).protocol.n, 25);
  assert.equal(readShardManifest(a).protocol.labels, 'balanced');
});

test('shard 0 is the unsharded run; another request in the same folder is refused naming the field', async () => {
  const a = join(root, 'single');
  await sampleToShards(a, net, sched, { ...base, n: 6, shardSize: 10, labels: { kind: 'random' } });
  const plain = await generate(net, sched, { ...base, n: 6, labels: { kind: 'random' } });
  assert.deepEqual(readSamples(shardPath(a, 0)).labels, plain.y);
  const s = readSamples(shardPath(a, 0));
  assert.deepEqual(s.images, plain.x);
  await assert.rejects(sampleToShards(a, net, sched, { ...base, omega: 2, n: 6, shardSize: 10, labels: { kind: 'random' } }), /holds a sample run with omega = 1\.2, not 2/);
  await assert.rejects(sampleToShards(a, net, sched, { ...base, n: 7, shardSize: 10, labels: { kind: 'random' } }), /n = 6, not 7/);
});

test('SIGKILL during `cbdm sample` and the same command again: the shards equal an uninterrupted run', async () => {
  const run = (out: string) => spawn(process.execPath, [...CBDM, 'sample', '--ckpt', CKPT, '--image-size', '8', '--n', '40', '--shard-size', '8',
    '--sampler', 'ddim', '--steps', '40', '--batch', '1', '--seed', '5', '--quiet', '--out', out], { stdio: 'ignore', env: { ...process.env, CBDM_THREADS: '1' } });
  const finish = (p: ReturnType<typeof run>) => new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
  const killed = join(root, 'killed'), whole = join(root, 'whole');
  const p = run(killed);
  const t0 = Date.now();
  while (!existsSync(shardPath(killed, 0)) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
  p.kill('SIGKILL');
  await finish(p);
  const before = [0, 1, 2, 3, 4].filter((k) => existsSync(shardPath(killed, k))).length;
  assert.ok(before >= 1 && before < 5, `killed after ${before} of 5 shards`);
  assert.equal(await finish(run(killed)), 0);
  assert.equal(await finish(run(whole)), 0);
  for (let k = 0; k < 5; k++) assert.ok(bytes(shardPath(killed, k)).equals(bytes(shardPath(whole, k))), `shard ${k}`);
});

/** Per-channel means as 3-d features: enough to compare two reads of the same images. */
const meanExtractor: FeatureExtractor = {
  name: 'mean', dim: 3, acceptsFloat: true,
  extract(images: ImageArray, n: number, size: number) {
    const f = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let p = 0; p < size * size; p++) s += images[(i * 3 + c) * size * size + p]!;
      f[i * 3 + c] = s / (size * size);
    }
    return { features: f };
  },
};

test('cbdm eval reads a sharded folder shard by shard with the same numbers as one file', async () => {
  const dir = join(root, 'eval');
  await sampleToShards(dir, net, sched, { ...base, n: 30, shardSize: 7, labels: { kind: 'balanced' } });
  const parts = [0, 1, 2, 3, 4].map((k) => readSamples(shardPath(dir, k)));
  const x = new Float32Array(30 * 3 * 64), y = new Int32Array(30);
  let off = 0;
  for (const s of parts) { x.set(s.images as Float32Array, off * 3 * 64); y.set(s.labels, off); off += s.n; }
  writeSamplesNpz(join(root, 'one.npz'), x, y, 8, readShardManifest(dir).protocol);
  const refFeats = meanExtractor.extract(x.map((v) => 1 - v), 30, 8).features;
  writeStats(join(root, 'ref.npz'), featureStats(refFeats, 30, 3), { features: refFeats, labels: y, meta: { extractor: 'mean' } });
  const o = { ref: join(root, 'ref.npz'), extractor: 'inception' as const, batch: 8, quiet: true, k: 3, kidSubsets: 2 };
  const fromDir = await runEval({ ...o, samples: dir }, meanExtractor);
  const fromFile = await runEval({ ...o, samples: join(root, 'one.npz') }, meanExtractor);
  assert.deepEqual(fromDir.overall, fromFile.overall);
  assert.equal(fromDir.protocol.sampler, 'dpmpp-2m');
  assert.equal(fromDir.protocol.n, 30);
  unlinkSync(shardPath(dir, 2));
  await assert.rejects(runEval({ ...o, samples: dir }, meanExtractor), /4 of 5 shards are written/);
});
