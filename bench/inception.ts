/**
 * FID Inception-v3 feature extraction throughput (images/s, 32×32 inputs resized to 299×299,
 * pool3 + logits) on our current default backend vs PyTorch CPU eager (Debian's /usr/bin/python3,
 * torch.no_grad, the same random weights and batch), measured in the same run.
 * Peer: the plain-torch reference network of test/fixtures/inception/make_inception.py.
 * Prints one JSON line per case: {"case","unit","ours","peer","peer_name","ratio"} (ratio = ours/peer).
 *
 * Run: node --import tsx bench/inception.ts [--batch 2] [--width 1] [--seconds 5] [--threads 2] [--no-peer] [--parity]
 *   --width D divides every channel count (1 = the published network).
 *   --profile N times N batches through the kernel profiler and prints the per-kernel breakdown
 *   (convolutions keyed by shape) instead of benchmarking.
 *   --parity first checks the full-width network against the PyTorch reference on random weights
 *   loaded from a PyTorch .pth (the committed test does this at width/16), printing the relative
 *   errors of pool3 and logits.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../src/engine/backends.ts';
import { FidInceptionV3 } from '../src/metrics/inception.ts';
import { inceptionExtractor } from '../src/metrics/features.ts';
import { writeSafetensors } from '../src/io/safetensors.ts';
import { fromNumbers, toFloat32, type NdArray } from '../src/io/ndarray.ts';
import { readNpz } from '../src/io/npz.ts';
import { loadFidInception } from '../src/metrics/inception-weights.ts';
import { profileBackend, formatProfile } from '../src/engine/profile.ts';
import { setCurrentBackend } from '../src/engine/context.ts';
import { setCpuThreads } from '../src/engine/cpu/load.ts';
import { peerEnv } from '../src/util/peer-env.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const batch = arg('batch', 2);
const width = arg('width', 1);
const seconds = arg('seconds', 5);
const threads = arg('threads', Math.min(2, cpus().length));
const noPeer = process.argv.includes('--no-peer');
const SIZE = 32;

const backend = useBackend();
if (backend.name === 'cpu') setCpuThreads(threads);  // ours and the peer at the same thread count
const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'inception', 'make_inception.py');

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

if (process.argv.includes('--parity')) {
  const pdir = mkdtempSync(join(tmpdir(), 'cbdm-inception-parity-'));
  try {
    const r = spawnSync('/usr/bin/python3', [script, 'full', pdir], { encoding: 'utf8', env: peerEnv() });
    if (r.status !== 0) throw new Error(`reference generation failed: ${r.stderr}`);
    const ref = loadFidInception(join(pdir, 'full_weights.pth'), backend);
    const io = readNpz(join(pdir, 'full_io.npz'));
    const out = ref.forward(toFloat32(io.x!), io.x!.shape[0]!, io.x!.shape[2]!, io.x!.shape[3]!);
    console.log(JSON.stringify({
      case: `fid-inception-v3 full-width parity vs PyTorch (${backend.name} backend, .pth zip)`,
      pool3_rel_err: relErr(out.pool3.toArray(), toFloat32(io.pool3!)),
      logits_rel_err: relErr(out.logits.toArray(), toFloat32(io.logits!)),
      logits_with_bias_rel_err: relErr(out.logitsWithBias.toArray(), toFloat32(io.logitsb!)),
    }));
    ref.dispose();
  } finally {
    rmSync(pdir, { recursive: true, force: true });
  }
}
const net = new FidInceptionV3({ widthDivisor: width }).materialize(backend, 1);
const extractor = inceptionExtractor(net);
const images = new Float32Array(batch * 3 * SIZE * SIZE).map((_, i) => ((i * 2654435761) % 1000) / 1000);

extractor.extract(images, batch, SIZE); // warm-up
const profileBatches = arg('profile', 0);
if (profileBatches > 0) {
  const prof = profileBackend(backend, { byShape: true });
  setCurrentBackend(prof.backend);
  const pnet = new FidInceptionV3({ widthDivisor: width }).materialize(prof.backend, 1);
  const pext = inceptionExtractor(pnet);
  pext.extract(images, batch, SIZE);
  prof.reset();
  const t = performance.now();
  for (let i = 0; i < profileBatches; i++) pext.extract(images, batch, SIZE);
  console.log(formatProfile(prof.rows(), performance.now() - t, `fid-inception-v3 ${profileBatches} × batch ${batch} (${backend.name})`));
  process.exit(0);
}
let n = 0;
const t0 = performance.now();
do {
  extractor.extract(images, batch, SIZE);
  n += batch;
} while (performance.now() - t0 < seconds * 1000);
const ours = n / ((performance.now() - t0) / 1000);

const dir = mkdtempSync(join(tmpdir(), 'cbdm-bench-inception-'));
let peer: number | null = null;
let peerName = 'pytorch-cpu-eager';
try {
  const weights = join(dir, 'w.safetensors');
  const sd = new Map<string, NdArray>();
  for (const [k, v] of net.store.stateDict()) sd.set(k, fromNumbers('float32', [...net.store.get(k).shape], v));
  writeSafetensors(weights, sd);
  const r = noPeer ? null : spawnSync('/usr/bin/python3', [script, 'bench', weights, String(batch), String(SIZE), String(seconds), String(threads)], { encoding: 'utf8', env: peerEnv() });
  if (r === null) {
    peerName = 'none (--no-peer)';
  } else if (r.status === 0) {
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { img_per_s: number; threads: number; torch: string };
    peer = j.img_per_s;
    peerName = `pytorch-${j.torch}-cpu-eager-${j.threads}threads`;
  } else {
    console.error(`peer skipped: /usr/bin/python3 with torch failed: ${r.stderr.trim().split('\n').pop()}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.error(`load average at the end: ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} cores (both sides share the machine)`);
console.log(JSON.stringify({
  case: `fid-inception-v3${width === 1 ? '' : `-width÷${width}`} 32→299 batch ${batch} (${backend.name} backend)`,
  unit: 'img/s',
  ours: Number(ours.toPrecision(4)),
  threads,
  peer: peer === null ? null : Number(peer.toPrecision(4)),
  peer_name: peerName,
  ratio: peer === null ? null : Number((ours / peer).toPrecision(3)),
}));
