/**
 * A seeded CBDM training run of N steps on the backend CBDM_BACKEND selects, printing the loss of
 * every step as JSON: scripts/device-check.sh runs it on `cuda` and on `cpu` from identical
 * weights (seed 0), data and random streams, and compares the two curves.
 *   node --import tsx bench/loss-curve.ts [--steps 200] [--preset tiny] [--batch 16]
 */
import { useBackend, tidy, backward } from '../src/engine/index.ts';
import { UNet } from '../src/models/unet.ts';
import { presetConfig, PRESET_NAMES, type PresetName } from '../src/models/presets.ts';
import { trainingLoss } from '../src/train/loss.ts';
import { DEFAULT_LOSS } from '../src/train/config.ts';
import { Adam, emaUpdate, DEFAULT_ADAM } from '../src/train/optimizer.ts';
import { defaultSchedule } from '../src/diffusion/schedule.ts';
import { Rng } from '../src/util/rng.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

const steps = Number(arg('steps', '200'));
const preset = arg('preset', 'tiny') as PresetName;
const B = Number(arg('batch', '16'));
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(B) || B < 1 || !PRESET_NAMES.includes(preset)) {
  console.error(`cbdm: error: bench/loss-curve.ts: --steps and --batch must be positive integers and --preset one of ${PRESET_NAMES.join(', ')}`);
  process.exit(2);
}

const be = useBackend();
const classes = 10;
const cfg = presetConfig(preset, classes);
const S = cfg.imageSize;
const net = new UNet(cfg);
const ema = new UNet(cfg);
net.store.materialize(be, 0);
ema.store.materialize(be, 0);
const opt = new Adam(net.store, { ...DEFAULT_ADAM });
const sched = defaultSchedule();
const data = new Rng(11);
const x0 = data.fillNormal(new Float32Array(B * 3 * S * S)) as Float32Array;
const y = Int32Array.from({ length: B }, (_, i) => i % classes);
const counts = Array.from({ length: classes }, (_, i) => 500 - 45 * i);
const rng = new Rng(1);
const dropRng = new Rng(2);
const losses: number[] = [];
const t0 = performance.now();
for (let s = 0; s < steps; s++) {
  tidy(() => {
    net.store.zeroGrad();
    const p = trainingLoss({ net: (xt, t, yy) => net.forward(xt, t, yy, { training: true, rng: dropRng }), x0, y0: y, shape: [B, 3, S, S], sched, cfg: DEFAULT_LOSS, counts, rng });
    losses.push(p.loss.item());
    backward(p.loss);
  });
  opt.update();
  emaUpdate(ema.store, net.store, 0.9999);
}
console.log(JSON.stringify({ backend: be.name, preset, batch: B, steps, seconds: (performance.now() - t0) / 1000, losses }));
