/**
 * Where a UNet forward (sampling) or a CBDM training step spends its time, kernel by kernel
 * (src/engine/profile.ts): the tool behind the bench/RESULTS.md breakdowns.
 *
 *   node --import tsx scripts/profile-unet.ts [--preset tiny] [--batch 64] [--reps 10] [--mode sample|train]
 *
 * Times are wall clock per kernel, convolutions labelled with the native kernel that ran
 * (native/conv_rules.h); set CBDM_THREADS to fix the thread count.
 */
import { parseArgs } from 'node:util';
import { useBackend } from '../src/engine/backends.ts';
import { setCurrentBackend, tidy, noGrad } from '../src/engine/context.ts';
import { backward } from '../src/engine/autograd.ts';
import { tensor } from '../src/engine/ops/create.ts';
import { profileBackend, formatProfile } from '../src/engine/profile.ts';
import { convKernelName } from '../src/engine/cpu/load.ts';
import { UNet } from '../src/models/unet.ts';
import { presetConfig, type PresetName } from '../src/models/presets.ts';
import { trainingLoss } from '../src/train/loss.ts';
import { DEFAULT_LOSS } from '../src/train/config.ts';
import { defaultSchedule } from '../src/diffusion/schedule.ts';
import { Rng } from '../src/util/rng.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    batch: { type: 'string', default: '64' },
    reps: { type: 'string', default: '10' },
    mode: { type: 'string', default: 'sample' },
  },
});
const preset = values.preset as PresetName;
const B = Number(values.batch);
const reps = Number(values.reps);
const classes = 10;
const cfg = presetConfig(preset, classes);
const S = cfg.imageSize;
const prof = profileBackend(useBackend(), { byShape: true, convKernelName });
setCurrentBackend(prof.backend);
const net = new UNet(cfg);
net.store.materialize(prof.backend, 0);
const rng = new Rng(1);
const x0 = rng.fillNormal(new Float32Array(B * 3 * S * S)) as Float32Array;
const y = Int32Array.from({ length: B }, (_, i) => i % classes);
const sched = defaultSchedule();
const counts = Array.from({ length: classes }, (_, i) => 500 - 45 * i);
const xT = tensor(x0, [B, 3, S, S]);
const t = new Int32Array(B).fill(500);
const once = values.mode === 'train'
  ? () => tidy(() => {
    net.store.zeroGrad();
    const p = trainingLoss({ net: (xt, tt, yy) => net.forward(xt, tt, yy, { training: true, rng }), x0, y0: y, shape: [B, 3, S, S], sched, cfg: { ...DEFAULT_LOSS, labelDropProb: 0 }, counts, rng });
    backward(p.loss);
  })
  : () => noGrad(() => tidy(() => { net.forward(xT, t, y, { training: false }).toArray(); }));
once();
prof.reset();
const t0 = performance.now();
for (let r = 0; r < reps; r++) once();
console.log(formatProfile(prof.rows(), performance.now() - t0, `${preset} UNet ${values.mode} B=${B} ${S}px × ${reps}`));
