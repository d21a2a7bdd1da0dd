/**
 * BatchLoader throughput: 50,000 random 32×32 images (CIFAR-sized), batch 128, one core.
 * Target ≥ 20,000 images/s with flips. Peer, measured in the same run when python3 + numpy are
 * present: NumPy doing the same per batch (gather uint8, random flip, scale to float32 [−1, 1]).
 * Run: node --import tsx bench/loader.ts
 */
import { spawnSync } from 'node:child_process';
import { BatchLoader } from '../src/data/loader.ts';
import type { ImageDataset } from '../src/data/dataset.ts';
import { Rng } from '../src/util/rng.ts';
import { peerEnv } from '../src/util/peer-env.ts';

const N = 50000;
const S = 32;
const B = 128;
const SECONDS = 2;

function makeDataset(): ImageDataset {
  const rng = new Rng(0);
  const images = new Uint8Array(N * 3 * S * S);
  for (let i = 0; i < images.length; i += 4) {
    const v = rng.nextU32();
    images[i] = v; images[i + 1] = v >>> 8; images[i + 2] = v >>> 16; images[i + 3] = v >>> 24;
  }
  const labels = Int32Array.from({ length: N }, (_, i) => i % 10);
  return { name: 'bench', numClasses: 10, classNames: [...'0123456789'], size: S, channels: 3, images, labels, counts: new Array(10).fill(N / 10) };
}

function measure(ds: ImageDataset, flip: boolean): number {
  const loader = new BatchLoader(ds, { batchSize: B, seed: 0, flip });
  const x = new Float32Array(B * 3 * S * S);
  const y = new Int32Array(B);
  for (let k = 0; k < 50; k++) loader.nextInto(x, y);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) { loader.nextInto(x, y); n += B; }
  return n / ((performance.now() - t0) / 1000);
}

const NUMPY_PEER = `
import time, numpy as np
N, S, B = ${N}, ${S}, ${B}
rng = np.random.default_rng(0)
imgs = rng.integers(0, 256, size=(N, 3, S, S), dtype=np.uint8)
perm = rng.permutation(N); pos = 0; n = 0
t0 = time.perf_counter()
while time.perf_counter() - t0 < ${SECONDS}:
    if pos + B > N: perm = rng.permutation(N); pos = 0
    idx = perm[pos:pos + B]; pos += B
    x = imgs[idx]
    f = rng.random(B) < 0.5
    x[f] = x[f, :, :, ::-1]
    x = x.astype(np.float32) * np.float32(2 / 255) - np.float32(1)
    n += B
print(n / (time.perf_counter() - t0))
`;

function numpyPeer(): number | null {
  const r = spawnSync('python3', ['-c', NUMPY_PEER], { encoding: 'utf8', env: peerEnv({ OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }) });
  if (r.status !== 0) return null;
  const v = Number(r.stdout.trim());
  return Number.isFinite(v) ? v : null;
}

const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
const ds = makeDataset();
const withFlip = measure(ds, true);
const noFlip = measure(ds, false);
const peer = numpyPeer();
console.log(`BatchLoader 32x32, batch ${B}, one core (${new Date().toISOString().slice(0, 10)})`);
console.log(`  flip on : ${fmt(withFlip)} images/s  [target 20,000: ${withFlip >= 20000 ? 'met' : 'NOT met'}]`);
console.log(`  flip off: ${fmt(noFlip)} images/s`);
if (peer !== null) console.log(`  NumPy peer (gather + flip + scale): ${fmt(peer)} images/s → ratio ${(withFlip / peer).toFixed(2)}×`);
else console.log('  NumPy peer: skipped (python3 with numpy not found)');
