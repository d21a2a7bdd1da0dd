/**
 * Sharded sample runs: `cbdm sample --n 50000 --out DIR --shard-size K` writes DIR/samples.json
 * (the request, written first) and DIR/shard-00000.npz, shard-00001.npz, … (K images each, each
 * written atomically). Shard k is generated from its own random streams (generate's `part`), so a
 * run killed at any moment resumes by generating exactly the missing shards: no image is redone or
 * duplicated, and the finished set is bit-identical to an uninterrupted run. `cbdm eval --samples
 * DIR` reads the shards one at a time.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { CbdmError } from '../util/errors.ts';
import { fieldName } from '../util/setting-names.ts';
import type { UNet } from '../models/unet.ts';
import { generate, samplingProtocol, type GenerateOptions, type SampleProtocol } from './generate.ts';
import { writeSamplesNpz } from './samples-file.ts';
import { resolveSampling } from './samplers.ts';
import type { Schedule } from './schedule.ts';

export const SHARD_MANIFEST = 'samples.json';
const FORMAT = 'cbdm-sample-shards/1';

/** DIR/samples.json. */
export interface ShardManifest {
  format: typeof FORMAT;
  n: number;
  shardSize: number;
  shards: number;
  /** Everything that determines the images (sampler, grid, ω, labels, seed, model, precision). */
  request: Record<string, unknown>;
  /** The protocol of the whole set (n = all images). */
  protocol: SampleProtocol;
}

export function shardPath(dir: string, k: number): string {
  return join(dir, `shard-${String(k).padStart(5, '0')}.npz`);
}

/** True when DIR holds a sharded sample run. */
export function isShardDir(path: string): boolean {
  return existsSync(join(path, SHARD_MANIFEST)) && statSync(path).isDirectory();
}

/** Read and check DIR/samples.json. */
export function readShardManifest(dir: string): ShardManifest {
  const p = join(dir, SHARD_MANIFEST);
  let m: ShardManifest;
  try {
    m = JSON.parse(readFileSync(p, 'utf8')) as ShardManifest;
  } catch (e) {
    throw new CbdmError(`${p}: not a readable sample-shard manifest (${(e as Error).message}); delete the folder to start over`);
  }
  if (m.format !== FORMAT || !(Number.isInteger(m.n) && m.n > 0) || !(Number.isInteger(m.shardSize) && m.shardSize > 0) || m.shards !== Math.ceil(m.n / m.shardSize)) {
    throw new CbdmError(`${p}: not a ${FORMAT} manifest (n, shardSize, shards inconsistent); delete the folder to start over`);
  }
  return m;
}

/** Shards already written (complete files: every shard is renamed into place only when whole). */
export function finishedShards(dir: string, m: ShardManifest): number[] {
  const out: number[] = [];
  for (let k = 0; k < m.shards; k++) if (existsSync(shardPath(dir, k))) out.push(k);
  return out;
}

export interface ShardRunOptions extends Omit<GenerateOptions, 'n' | 'part' | 'onBatch'> {
  n: number;
  shardSize: number;
  /** What identifies the model (run directory or weights file), stored in the request. */
  model: string;
  /** Called after each batch with the images done in the whole run. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Generate the missing shards of DIR. A DIR made by another request is an error naming the field
 * that differs. Leftover temp files of a killed run are removed first.
 */
export async function sampleToShards(dir: string, net: UNet, sched: Schedule, o: ShardRunOptions): Promise<{ written: number; skipped: number; manifest: ShardManifest }> {
  const name = o.names ?? fieldName;
  if (!(Number.isInteger(o.shardSize) && o.shardSize >= 1)) throw new CbdmError(`${name('shardSize')} must be a positive integer, got ${o.shardSize}`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CbdmError(`${name('out')} ${dir} is a file; sharded samples need a directory`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.startsWith('.shard-') && f.endsWith('.tmp')) unlinkSync(join(dir, f));
  const request: Record<string, unknown> = {
    model: o.model, sampler: o.sampler, steps: o.steps, spacing: o.spacing ?? null, eta: o.eta, omega: o.omega, variance: o.variance,
    clip: o.clip, labels: o.labels, seed: o.seed, batch: o.batch,
  };
  const protocol = samplingProtocol(o, resolveSampling(o.sampler, o.steps, o.spacing, o.eta, o.omega, sched, name));
  const fresh: ShardManifest = { format: FORMAT, n: o.n, shardSize: o.shardSize, shards: Math.ceil(o.n / o.shardSize), request, protocol };
  let m = fresh;
  if (existsSync(join(dir, SHARD_MANIFEST))) {
    m = readShardManifest(dir);
    for (const [k, v] of Object.entries({ n: o.n, shardSize: o.shardSize, ...request })) {
      const had = k === 'n' || k === 'shardSize' ? m[k] : m.request[k];
      if (JSON.stringify(had) !== JSON.stringify(v)) {
        throw new CbdmError(`${dir} holds a sample run with ${k} = ${JSON.stringify(had)}, not ${JSON.stringify(v)}: resume with the same settings, or use a new ${name('out')}`);
      }
    }
  } else {
    writeFileAtomic(join(dir, SHARD_MANIFEST), JSON.stringify(m, null, 2) + '\n');
  }
  const have = new Set(finishedShards(dir, m));
  let done = [...have].reduce((s, k) => s + shardCount(m, k), 0);
  let written = 0;
  o.onProgress?.(done, m.n);
  for (let k = 0; k < m.shards; k++) {
    if (have.has(k)) continue;
    const count = shardCount(m, k);
    const r = await generate(net, sched, {
      ...o, n: count, part: { index: k, labelOffset: k * m.shardSize }, onBatch: (d) => o.onProgress?.(done + d, m.n),
    });
    writeSamplesNpz(shardPath(dir, k), r.x, r.y, net.config.imageSize, { ...r.protocol, n: count }, net.config.channels);
    done += count;
    written++;
  }
  return { written, skipped: have.size, manifest: m };
}

function shardCount(m: ShardManifest, k: number): number {
  return Math.min(m.shardSize, m.n - k * m.shardSize);
}
