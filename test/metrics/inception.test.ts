/**
 * FID Inception-v3 parity with a plain-PyTorch reference (test/fixtures/inception/make_inception.py):
 * a width/16 copy with random weights at a 139×139 network input, so every block, padding mode
 * and pool runs with a spatial extent > 1. Also: the published config's state-dict keys and
 * shapes equal the reference's, and missing weights give an actionable error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend, liveTensorCount, getBackend, backendAvailable, type Backend } from '../../src/engine/index.ts';
import { readNpz } from '../../src/io/npz.ts';
import { loadStateDictFile } from '../../src/io/torch.ts';
import { toFloat32 } from '../../src/io/ndarray.ts';
import { FidInceptionV3, FID_INCEPTION_CONFIG } from '../../src/metrics/inception.ts';
import { resolveInceptionWeights, FID_WEIGHTS_FILE, FID_WEIGHTS_URL } from '../../src/metrics/inception-weights.ts';
import { padZeros } from '../../src/metrics/inception-ops.ts';
import { tensor } from '../../src/engine/ops/create.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { relativeError } from '../engine/harness.ts';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'inception');
const backend = useBackend(process.env.CBDM_BACKEND ?? 'js');

/** max |a − b| / max |b|: error relative to the output's scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  return relativeError(b, a, { floor: 1e-30 });
}

function tinyNet(on: Backend = backend): FidInceptionV3 {
  const net = new FidInceptionV3({ widthDivisor: 16, numClasses: 126, inputSize: 139 });
  return net.loadStateDict(loadStateDictFile(join(FIX, 'tiny_weights.safetensors')), on);
}

/** Every backend built here: js always, the native cpu addon when it loads. */
const BACKENDS = (['js', 'cpu'] as const).filter((b) => backendAvailable(b));

for (const name of BACKENDS) test(`[${name}] width/16 FID Inception matches the PyTorch reference to 1e-4 (float up-, uint8 down-, uint8 up-sampling)`, () => {
  useBackend(name);
  const net = tinyNet(getBackend(name));
  const io = readNpz(join(FIX, 'tiny_io.npz'));
  const cases: Array<{ key: string; images: Float32Array | Uint8Array; n: number; s: number }> = [
    { key: 'float', images: toFloat32(io.x_float!), n: 2, s: 32 },
    { key: 'big', images: io.x_big!.data as Uint8Array, n: 1, s: 160 },
    { key: 'u8', images: io.x_u8!.data as Uint8Array, n: 2, s: 16 },
  ];
  const before = liveTensorCount();
  for (const c of cases) {
    const out = net.forward(c.images, c.n, c.s, c.s);
    assert.deepEqual(out.pool3.shape, [c.n, 128]);
    assert.deepEqual(out.logits.shape, [c.n, 126]);
    const errs = {
      pool3: relErr(out.pool3.toArray(), toFloat32(io[`pool3_${c.key}`]!)),
      logits: relErr(out.logits.toArray(), toFloat32(io[`logits_${c.key}`]!)),
      logitsWithBias: relErr(out.logitsWithBias.toArray(), toFloat32(io[`logitsb_${c.key}`]!)),
    };
    for (const [name, e] of Object.entries(errs)) assert.ok(e < 1e-4, `${c.key} ${name}: relative error ${e.toExponential(2)}`);
    out.pool3.dispose();
    out.logits.dispose();
    out.logitsWithBias.dispose();
  }
  assert.equal(liveTensorCount(), before, 'forward leaks no tensors');
  net.dispose();
  useBackend(backend.name);
});

test('logits are fc without bias (IS), logitsWithBias add fc.bias', () => {
  const net = tinyNet();
  const sd = loadStateDictFile(join(FIX, 'tiny_weights.safetensors'));
  const bias = toFloat32(sd.get('fc.bias')!);
  const img = new Uint8Array(3 * 20 * 20).map((_, i) => (i * 37) % 256);
  const out = net.forward(img, 1, 20, 20);
  const a = out.logits.toArray();
  const b = out.logitsWithBias.toArray();
  for (let i = 0; i < bias.length; i++) assert.ok(Math.abs(b[i]! - a[i]! - bias[i]!) < 1e-5);
  net.dispose();
});

test('the published config declares exactly the checkpoint keys and shapes', () => {
  const ref = JSON.parse(readFileSync(join(FIX, 'full_keys.json'), 'utf8')) as { params: number; keys: Array<[string, number[]]> };
  const net = new FidInceptionV3();
  assert.deepEqual(FID_INCEPTION_CONFIG, { widthDivisor: 1, numClasses: 1008, inputSize: 299 });
  assert.equal(net.dim, 2048);
  const ours = net.store.params.map((p) => [p.name, [...p.shape]]);
  const theirs = ref.keys.filter(([k]) => !k.endsWith('num_batches_tracked'));
  assert.deepEqual(ours, theirs);
  const learnable = net.store.params.filter((p) => !/running_(mean|var)$/.test(p.name)).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(learnable, ref.params);
});

test('a state dict with a wrong key or shape is refused with the names', () => {
  const sd = loadStateDictFile(join(FIX, 'tiny_weights.safetensors'));
  const renamed = new Map(sd);
  renamed.set('Mixed_5b.branch1x1.conv.weightX', renamed.get('Mixed_5b.branch1x1.conv.weight')!);
  renamed.delete('Mixed_5b.branch1x1.conv.weight');
  const net = new FidInceptionV3({ widthDivisor: 16, numClasses: 126, inputSize: 139 });
  assert.throws(() => net.loadStateDict(renamed, backend), /Mixed_5b\.branch1x1\.conv\.weight/);
  const wrongClasses = new FidInceptionV3({ widthDivisor: 16, numClasses: 1008, inputSize: 139 });
  assert.throws(() => wrongClasses.loadStateDict(sd, backend), /fc\.weight/);
});

test('missing weights: the error names the file, its URL and where to put it', () => {
  for (const [flag, env] of [['/nonexistent/pt.pth', {}], [undefined, { CBDM_INCEPTION: '/nonexistent/x.pth' }]] as const) {
    try {
      resolveInceptionWeights(flag, env as NodeJS.ProcessEnv);
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof CbdmError);
      assert.match(e.message, new RegExp(FID_WEIGHTS_FILE.replace(/\./g, '\\.')));
      assert.ok(e.message.includes(FID_WEIGHTS_URL));
      assert.match(e.message, /CBDM_INCEPTION/);
      assert.match(e.message, /--inception/);
    }
  }
  assert.equal(resolveInceptionWeights(join(FIX, 'tiny_weights.safetensors')), join(FIX, 'tiny_weights.safetensors'));
  // nothing named: the default cache place, $CBDM_CACHE when set, is named in the instructions
  assert.throws(() => resolveInceptionWeights(undefined, { CBDM_CACHE: '/nonexistent-cache' }), (e: Error) => e.message.includes(`curl -L -o /nonexistent-cache/${FID_WEIGHTS_FILE} ${FID_WEIGHTS_URL}`));
});

test('rectangular zero padding (rows only, columns only, both)', () => {
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2], { backend });
  assert.deepEqual([...padZeros(x, 1, 0).toArray()], [0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0]);
  assert.deepEqual([...padZeros(x, 0, 1).toArray()], [0, 1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0, 0, 7, 8, 0]);
  const both = [...padZeros(x, 1, 1).toArray()];
  assert.equal(both.length, 2 * 16);
  assert.deepEqual(both.slice(0, 16), [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
  assert.deepEqual(both.slice(16), [0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8, 0, 0, 0, 0, 0]);
});
