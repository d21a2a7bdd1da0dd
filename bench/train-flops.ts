/**
 * Multiply-add FLOPs of one CBDM training step per image (two UNet forwards, two backwards), for
 * model FLOP utilisation: MFU = FLOPs/image × images/s ÷ the device's peak. Counted, not
 * estimated: one step of the preset at batch 1 runs on the host backend through a wrapper that
 * adds 2·(multiply-adds) of every GEMM, convolution (forward, backward-data, backward-weight) and
 * attention call; elementwise work, norms and the optimiser are left out, as MFU conventionally
 * does. All these counts are linear in the batch.
 *   node --import tsx bench/train-flops.ts [--preset cifar]   → {"preset", "flops_per_image_step"}
 */
import { useBackend, setCurrentBackend, tidy, backward } from '../src/engine/index.ts';
import type { Backend, ConvGeom } from '../src/engine/index.ts';
import { UNet } from '../src/models/unet.ts';
import { presetConfig, PRESET_NAMES, type PresetName } from '../src/models/presets.ts';
import { trainingLoss } from '../src/train/loss.ts';
import { DEFAULT_LOSS } from '../src/train/config.ts';
import { defaultSchedule } from '../src/diffusion/schedule.ts';
import { Rng } from '../src/util/rng.ts';

const i = process.argv.indexOf('--preset');
const preset = (i > 0 ? process.argv[i + 1] : 'cifar') as PresetName;
if (!PRESET_NAMES.includes(preset)) {
  console.error(`cbdm: error: bench/train-flops.ts: --preset must be one of ${PRESET_NAMES.join(', ')}`);
  process.exit(2);
}

let flops = 0;
const conv = (g: ConvGeom): number => 2 * g.N * g.Co * g.Ho * g.Wo * g.Ci * g.KH * g.KW;
const counted: Partial<Record<keyof Backend, (...a: never[]) => number>> = {
  gemm: (_ta: boolean, _tb: boolean, M: number, N: number, K: number) => 2 * M * N * K,
  conv2dForward: (...a: unknown[]) => conv(a[4] as ConvGeom),
  conv2dBackwardData: (...a: unknown[]) => conv(a[3] as ConvGeom),
  conv2dBackwardWeight: (...a: unknown[]) => conv(a[4] as ConvGeom),
  attentionForward: (...a: unknown[]) => 2 * 2 * (a[5] as number) * (a[6] as number) * (a[7] as number) ** 2,
  attentionBackward: (...a: unknown[]) => 4 * 2 * (a[8] as number) * (a[9] as number) * (a[10] as number) ** 2,
};
const inner = useBackend();
const counting = new Proxy(inner, {
  get(target, key, receiver) {
    const v = Reflect.get(target, key, receiver) as unknown;
    const f = counted[key as keyof Backend];
    if (typeof v !== 'function') return v;
    return (...args: unknown[]) => {
      if (f) flops += (f as (...a: unknown[]) => number)(...args);
      return (v as (...a: unknown[]) => unknown).apply(target, args);
    };
  },
});
setCurrentBackend(counting);
const cfg = presetConfig(preset, 10);
const S = cfg.imageSize;
const net = new UNet(cfg);
net.store.materialize(counting, 0);
const x0 = new Rng(1).fillNormal(new Float32Array(3 * S * S)) as Float32Array;
tidy(() => {
  const p = trainingLoss({ net: (xt, t, y) => net.forward(xt, t, y, { training: true, rng: new Rng(2) }), x0, y0: Int32Array.from([0]), shape: [1, 3, S, S], sched: defaultSchedule(), cfg: { ...DEFAULT_LOSS, labelDropProb: 0 }, counts: Array.from({ length: 10 }, (_, k) => 500 - 45 * k), rng: new Rng(3) });
  backward(p.loss);
});
console.log(JSON.stringify({ preset, flops_per_image_step: flops }));
