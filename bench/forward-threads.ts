// The UNet sampling forward (the ε network under noGrad, as the samplers run it), ours only, at
// several thread counts alternated inside one process: one line of JSON with per-round medians (ms)
// and the load average. Usage: node --import tsx bench/forward-threads.ts [preset tiny] [batch 64]
// [forwards per round 3] [threads 1,2] [rounds 3]. Run under CBDM_THREAD_WAIT=spin and =sleep it
// compares the OpenMP wait policies (bench/RESULTS.md, 2026-12-06 17:14).
import { useBackend } from '../src/engine/backends.ts';
import { noGrad, tidy } from '../src/engine/context.ts';
import { tensor } from '../src/engine/ops/create.ts';
import { UNet } from '../src/models/unet.ts';
import { presetConfig, type PresetName } from '../src/models/presets.ts';
import { setCpuThreads } from '../src/engine/cpu/load.ts';
import { currentBackend } from '../src/engine/context.ts';
import { Rng } from '../src/util/rng.ts';
import { loadavg } from 'node:os';
const [preset = 'tiny', Bs = '64', nfs = '3', threadsList = '1,2', roundsS = '3'] = process.argv.slice(2);
useBackend('cpu');
const cfg = presetConfig(preset as PresetName, 10);
const B = Number(Bs), S = cfg.imageSize;
const net = new UNet(cfg);
net.store.materialize(currentBackend(), 0);
const x0 = new Rng(1).fillNormal(new Float32Array(B * 3 * S * S)) as Float32Array;
const xT = tensor(x0, [B, 3, S, S]);
const t = new Int32Array(B).fill(500);
const y = Int32Array.from({ length: B }, (_, i) => i % 10);
const fwd = () => noGrad(() => tidy(() => { net.forward(xT, t, y, { training: false }).toArray(); }));
const ths = threadsList.split(',').map(Number);
const res: Record<number, number[]> = {};
for (const th of ths) { setCpuThreads(th); fwd(); res[th] = []; }
for (let r = 0; r < Number(roundsS); r++) {
  for (const th of ths) {
    setCpuThreads(th);
    const ts: number[] = [];
    for (let i = 0; i < Number(nfs); i++) { const t0 = performance.now(); fwd(); ts.push(performance.now() - t0); }
    ts.sort((a, b) => a - b);
    res[th]!.push(ts[Math.floor(ts.length / 2)]!);
  }
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const la = loadavg().map((v) => v.toFixed(2)).join(' ');
console.log(JSON.stringify({ preset, B, load: la, ms: Object.fromEntries(ths.map((th) => [th, { median: +med(res[th]!).toFixed(1), rounds: res[th]!.map((v) => +v.toFixed(1)) }])), imgPerS: Object.fromEntries(ths.map((th) => [th, +(B / med(res[th]!) * 1000).toFixed(1)])) }));
