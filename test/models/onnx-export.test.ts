/**
 * `cbdm export onnx` and src/models/onnx-export.ts, checked by running the exported model in
 * onnxruntime-node (a devDependency) against our own forward on the same input. Tolerance: fp32,
 * max |ε_onnxruntime − ε_ours| ≤ 1e-5 · max |ε_ours| (both sum the same products in different
 * orders; measured ≈ 1e-6 on the tiny fixture).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.ts';
import { useBackend } from '../../src/engine/backends.ts';
import { tensor } from '../../src/engine/ops/create.ts';
import { noGrad, tidy } from '../../src/engine/context.ts';
import { loadRunModel, loadWeightsFile } from '../../src/models/load.ts';
import { NO_LABEL, UNet } from '../../src/models/unet.ts';
import { encodeUNetOnnx, ONNX_NULL_LABEL } from '../../src/models/onnx-export.ts';
import { Rng } from '../../src/util/rng.ts';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null;
let ortMissing = '';
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  ortMissing = `onnxruntime-node cannot load here (${String((e as Error).message).split('\n')[0]}); \`npm install\` brings it as a devDependency`;
}
const skipOrt = ort === null ? ortMissing : false;

const CKPT = join(import.meta.dirname, '..', 'fixtures', 'unet', 'tiny_ckpt.pt');
const tmp = () => mkdtempSync(join(tmpdir(), 'cbdm-onnx-'));

/**
 * Run the CLI in-process and capture its stderr (stdout is left alone: the test runner reports
 * through it, and a swallowed report would drop a test from the results).
 */
async function cli(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const se = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => { err += String(s); return true; }) as typeof process.stderr.write;
  try {
    return { code: await run(argv), err };
  } finally {
    process.stderr.write = se;
  }
}

/** ε̂ of `model` (bytes or a path) in onnxruntime, one intra-op thread. */
async function ortEps(model: string | Uint8Array, x: Float32Array, shape: number[], t: Int32Array, y: Int32Array | null): Promise<{ eps: Float32Array; inputs: readonly string[] }> {
  const s = await ort!.InferenceSession.create(model as string, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const i64 = (a: Int32Array) => new ort!.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), [a.length]);
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = { x: new ort!.Tensor('float32', x, shape), t: i64(t) };
  if (y !== null) feeds.y = i64(y);
  const r = await s.run(feeds);
  const out = { eps: r.eps!.data as Float32Array, inputs: [...s.inputNames] };
  await s.release();
  return out;
}

function ourEps(net: UNet, x: Float32Array, shape: number[], t: Int32Array, y: Int32Array | null): Float32Array {
  return noGrad(() => tidy(() => Float32Array.from(net.forward(tensor(x, shape), t, y, { training: false }).toArray())));
}

/** max |a − b| / max |b|, asserting both are finite and b is not all zero. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    assert.ok(Number.isFinite(a[i]!), `onnxruntime gave ${a[i]} at ${i}`);
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  assert.ok(m > 0);
  return d / m;
}

const inputs = (n: number, seed: number) => new Rng(seed).fillNormal(new Float32Array(n)) as Float32Array;

test('export onnx: the published-format fixture (random weights) gives our ε̂ in onnxruntime, labels and the null label alike', { skip: skipOrt }, async () => {
  const out = join(tmp(), 'tiny.onnx');
  assert.equal((await cli(['export', 'onnx', '--ckpt', CKPT, '--image-size', '8', '--out', out])).code, 0);
  const net = loadWeightsFile(CKPT, useBackend(), { imageSize: 8 }).net;
  const shape = [5, 3, 8, 8];
  const x = inputs(5 * 3 * 64, 1);
  const t = Int32Array.from([0, 5, 50, 90, 99]);
  const y = Int32Array.from([2, 0, NO_LABEL, 1, ONNX_NULL_LABEL]);
  const got = await ortEps(out, x, shape, t, y);
  assert.deepEqual(got.inputs, ['x', 't', 'y']);
  const want = ourEps(net, x, shape, t, y);
  const rel = relErr(got.eps, want);
  assert.ok(rel <= 1e-5, `relative error ${rel}`);
  // The null label is the unconditional pass, not some class: it equals our y = null forward.
  const uncond = ourEps(net, x.subarray(2 * 192, 3 * 192), [1, 3, 8, 8], t.subarray(2, 3), null);
  assert.ok(relErr(got.eps.subarray(2 * 192, 3 * 192), uncond) <= 1e-5);
});

test('export onnx: a greyscale unconditional UNet with attention at full resolution (x and t only)', { skip: skipOrt }, async () => {
  const net = new UNet({ T: 50, ch: 32, chMult: [1, 2], attn: [0], numResBlocks: 1, dropout: 0, numClasses: 0, imageSize: 8, channels: 1 });
  net.store.materialize(useBackend(), 0);
  // Non-degenerate weights everywhere (the init zeroes biases and shrinks the last convs), with
  // q and k 4× larger so the attention logits (×16) make a peaked softmax whose scale matters.
  const rng = new Rng(7);
  const arena = Float32Array.from(net.store.readArena());
  for (const l of net.store.layout) {
    if (!l.trainable) continue;
    const fanIn = l.shape.length > 1 ? l.size / l.shape[0]! : 1;
    const gain = /proj_[qk]\.weight$/.test(l.name) ? 4 : 1;
    for (let i = 0; i < l.size; i++) arena[l.offset + i] = rng.normal() * (l.shape.length > 1 ? (0.5 * gain) / Math.sqrt(fanIn) : 0.1);
  }
  net.store.writeArena(arena);
  const shape = [3, 1, 8, 8];
  const x = inputs(3 * 64, 2);
  const t = Int32Array.from([1, 25, 49]);
  const got = await ortEps(encodeUNetOnnx(net), x, shape, t, null);
  assert.deepEqual(got.inputs, ['x', 't']);
  const rel = relErr(got.eps, ourEps(net, x, shape, t, null));
  assert.ok(rel <= 1e-5, `relative error ${rel}`);
});

test('export onnx --run: a 2-step tiny run\'s EMA model', { skip: skipOrt }, async () => {
  const dir = tmp();
  const runDir = join(dir, 'run');
  assert.equal((await cli(['train', '--dataset', 'shapes10-lt', '--preset', 'tiny', '--image-size', '16', '--steps', '2', '--batch', '4', '--quiet', '--out', runDir])).code, 0);
  const out = join(dir, 'out', 'ema.onnx');
  assert.equal((await cli(['export', 'onnx', '--run', runDir, '--out', out])).code, 0);
  const net = loadRunModel(runDir, useBackend()).net;
  const shape = [2, 3, 16, 16];
  const x = inputs(2 * 3 * 256, 3);
  const t = Int32Array.from([999, 3]);
  const y = Int32Array.from([9, NO_LABEL]);
  const rel = relErr((await ortEps(out, x, shape, t, y)).eps, ourEps(net, x, shape, t, y));
  assert.ok(rel <= 1e-5, `relative error ${rel}`);
});

test('export onnx: bad requests are one cbdm: error line naming the flag or file; nothing is written', async () => {
  const dir = tmp();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const cases: [string[], RegExp][] = [
    [['--run', join(dir, 'no-such-run'), '--out', join(dir, 'm.onnx')], /no-such-run is not a cbdm run directory/],
    [['--ckpt', CKPT, '--image-size', '8', '--out', join(dir, 'm.pt')], /--out .*m\.pt: an ONNX model file ends in \.onnx/],
    [['--out', join(dir, 'm.onnx')], /exactly one of --run RUN_DIR or --ckpt FILE/],
    [['--ckpt', CKPT, '--image-size', '8', '--out', join(file, 'm.onnx')], /cannot write .*a-file\/m\.onnx: it already exists \(EEXIST\)/],
  ];
  for (const [argv, names] of cases) {
    const r = await cli(['export', 'onnx', ...argv]);
    assert.equal(r.code, 2, argv.join(' '));
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0]!, /^cbdm: error: /);
    assert.match(lines[0]!, names);
  }
  assert.deepEqual(readdirSync(dir), ['a-file']);
  assert.ok(!existsSync(join(dir, 'm.onnx')));
});
