/**
 * The onnxruntime-node peer of `cbdm bench train`'s sampling measurement: the PyTorch peer's UNet
 * (same architecture, same weights: bench/peers/ddpm_unet.py seeded as bench/peers/train.py)
 * exported once per configuration with `torch.onnx.export` (bench/peers/export_onnx.py), then
 * timed in its own Node process by onnxruntime-node's CPU execution provider
 * (bench/peers/onnxruntime.mjs) with as many intra-op threads as ours, whose idle threads do what
 * ours do (`spin`: onnxruntime's `session.intra_op.allow_spinning`, on by default there; ours sleep
 * by default, src/engine/cpu/settings.ts ThreadWait). Measured 2026-12-07 on the tiny UNet at B=64,
 * 2 threads: onnxruntime 37 ms per forward spinning, 40.5–42.4 ms not — the policy alone moves
 * either engine by ~10 %, so a comparison holds it equal and says which it was.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peerEnv } from '../util/peer-env.ts';

export interface OnnxruntimePeerConfig {
  ch: number;
  mult: number[];
  attn: number[];
  nres: number;
  ncls: number;
  size: number;
  batch: number;
  threads: number;
  reps: number;
  clock: 'wall' | 'cpu';
  /** Whether idle intra-op threads spin (onnxruntime's default) or sleep at once. */
  spin: boolean;
}

export interface OnnxruntimePeerResult {
  sample_img_steps_s: number;
  /** onnxruntime-node's version. */
  onnxruntime: string;
  /** The PyTorch that exported the model. */
  torch: string;
  /** The idle-thread policy the session ran with (allow_spinning), as the peer read it. */
  spin: boolean;
}

const PEERS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'peers');

/** Exported models of this process, by architecture and batch; removed when the process exits. */
const exported = new Map<string, { path: string; torch: string }>();
let exportDir: string | null = null;

function lastLine(s: string | null | undefined): string {
  return (s ?? '').trim().split('\n').pop() ?? '';
}

function exportModel(c: OnnxruntimePeerConfig, note?: (m: string) => void): { path: string; torch: string } | null {
  const arch = { ch: c.ch, mult: c.mult, attn: c.attn, nres: c.nres, ncls: c.ncls, size: c.size, batch: c.batch };
  const key = JSON.stringify(arch);
  const done = exported.get(key);
  if (done) return done;
  if (exportDir === null) {
    const dir = mkdtempSync(join(tmpdir(), 'cbdm-bench-onnx-'));
    exportDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const path = join(exportDir, `unet-${exported.size}.onnx`);
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const r = spawnSync(python, [join(PEERS, 'export_onnx.py'), path, key], { encoding: 'utf8', env: peerEnv({ OMP_NUM_THREADS: String(c.threads) }) });
  if (r.status !== 0) {
    note?.(`onnxruntime peer unavailable: torch.onnx.export failed (${lastLine(r.stderr || r.error?.message)}); it needs PyTorch: apt-get install python3-torch`);
    return null;
  }
  const out = { path, torch: (JSON.parse(lastLine(r.stdout)) as { torch: string }).torch };
  exported.set(key, out);
  return out;
}

/** img·steps/s of one ε-network forward in onnxruntime-node, or null (with a note saying why) when it cannot run. */
export function onnxruntimePeer(c: OnnxruntimePeerConfig, note?: (m: string) => void): OnnxruntimePeerResult | null {
  const model = exportModel(c, note);
  if (model === null) return null;
  const args = { model: model.path, batch: c.batch, size: c.size, ncls: c.ncls, threads: c.threads, reps: c.reps, clock: c.clock, spin: c.spin };
  const r = spawnSync(process.execPath, [join(PEERS, 'onnxruntime.mjs'), JSON.stringify(args)], { encoding: 'utf8', env: peerEnv() });
  if (r.status !== 0) {
    note?.(`onnxruntime peer unavailable (${lastLine(r.stderr || r.error?.message)}); in a checkout \`npm install\` brings onnxruntime-node (a devDependency)`);
    return null;
  }
  const res = JSON.parse(lastLine(r.stdout)) as { sample_img_steps_s: number; onnxruntime: string; spin: boolean };
  return { ...res, torch: model.torch };
}
