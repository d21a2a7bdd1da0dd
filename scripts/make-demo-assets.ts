/**
 * Turn checkpoint N of a demo-recipe training run into the shipped pretrained demo run
 * (assets/demo/<dataset>-<size>px-s<seed>/<method>/): config.json (steps = N, logging/checkpoint
 * settings as `cbdm demo --train --steps N` writes them), data.json, metrics.jsonl up to step N
 * and ema.safetensors (the EMA weights of checkpoint N, published state-dict names).
 *
 *   node --import tsx scripts/make-demo-assets.ts --run runs/curve/ddpm --step 6000
 *
 * A run trained for more steps and cut at N equals an N-step run bit for bit: the learning-rate
 * schedule (warm-up, then constant), the data order and every noise draw do not depend on the total.
 */
import { readFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { useBackend } from '../src/engine/backends.ts';
import { UNet, type UNetConfig } from '../src/models/unet.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';
import { saveEmaWeights } from '../src/models/weights-file.ts';
import { writeFileAtomic } from '../src/io/atomic.ts';
import type { TrainConfig } from '../src/train/config.ts';

const { values } = parseArgs({ options: { run: { type: 'string' }, step: { type: 'string' }, out: { type: 'string' }, commit: { type: 'string' } } });
if (!values.run || !values.step) throw new Error('usage: --run DIR --step N [--out DIR] [--commit SHA]');
const run = values.run;
const N = Number(values.step);
const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { train: TrainConfig; model: UNetConfig; backend: string; created: string; commit?: string | null };
const t = cfg.train;
const out = values.out ?? join('assets', 'demo', `${t.dataset}-${cfg.model.imageSize}px-s${t.seed}`, t.method);
mkdirSync(out, { recursive: true });

const net = new UNet(cfg.model);
net.store.materialize(useBackend(), 0);
const ckpt = join(run, 'checkpoints', `step-${String(N).padStart(8, '0')}.safetensors`);
const st = loadCheckpoint(ckpt, net.store, null, null, { emaInto: true });
if (st.step !== N) throw new Error(`${ckpt} holds step ${st.step}`);
saveEmaWeights(join(out, 'ema.safetensors'), net.store, { step: N, config: JSON.stringify(cfg.model) });

// The commit the run was trained at: recorded by the trainer in config.json, or given by hand.
const commit = values.commit ?? cfg.commit ?? 'unknown';
const train = { ...t, steps: N, logEvery: Math.max(1, Math.floor(N / 100)), ckptEvery: N, keepCkpts: 1 };
const provenance = `checkpoint ${N} of a ${t.steps}-step run of this recipe (logged every ${t.logEvery} steps), trained ${cfg.created} on the ${cfg.backend} backend at commit ${commit}; reproduce with: cbdm demo --train --seed ${t.seed}`;
writeFileAtomic(join(out, 'config.json'), JSON.stringify({ train, model: cfg.model, backend: cfg.backend, created: cfg.created, provenance }, null, 2) + '\n');
copyFileSync(join(run, 'data.json'), join(out, 'data.json'));
const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= N);
writeFileAtomic(join(out, 'metrics.jsonl'), rows.join('\n') + '\n');
console.log(`${out}: step ${N}, ${rows.length} metric rows`);
