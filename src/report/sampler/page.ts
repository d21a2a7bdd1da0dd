/**
 * The sampler page's script (bundled by esbuild into sampler.html; see src/report/sampler-html.ts).
 * It reads the models embedded in the page (`#cbdm-models`: config, class names and the EMA
 * weights, base64-inlined or at a URL of `cbdm serve`), runs the UNet on WebGPU when
 * `navigator.gpu` gives an adapter and on the js backend otherwise, and draws the denoising live:
 * x_t and the model's x̂_0 after every step, then a grid with one row per class.
 *
 * `window.cbdmSampler` exposes the same sampling to scripts (the browser test compares it with
 * node's `generate`).
 */
import { JsBackend } from '../../engine/js/backend.ts';
import { setCurrentBackend } from '../../engine/context.ts';
import type { Backend } from '../../engine/backend.ts';
import { WebGpuBackend } from '../../engine/webgpu/backend.ts';
import type { Gpu } from '../../engine/webgpu/gpu-types.ts';
import type { UNet } from '../../models/unet.ts';
import { SAMPLERS, SAMPLER_NAMES, type SamplerName } from '../../diffusion/samplers.ts';
import { scheduleOf, type Schedule } from '../../diffusion/schedule.ts';
import type { EpsModel } from '../../diffusion/model.ts';
import { guidedEpsModel, sampleClass, unetFromSafetensors, type ClassSampleRequest, type ReadBack } from './sample.ts';
import type { SamplerPageModel } from './types.ts';

type BackendChoice = 'webgpu' | 'js';

/** A sampling request from the page's controls or from a script. */
export interface PageRequest extends Omit<ClassSampleRequest, 'onStep'> {
  model: number;
  backend: BackendChoice;
}

const models = JSON.parse(document.getElementById('cbdm-models')!.textContent!) as SamplerPageModel[];
const js = new JsBackend();
const nets = new Map<string, { net: UNet; sched: Schedule }>();
let gpu: WebGpuBackend | null = null;
let busy = false;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function weightsOf(m: SamplerPageModel): Promise<Uint8Array> {
  switch (m.weights.kind) {
    case 'inline': {
      const bin = atob(m.weights.base64);
      const out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    }
    case 'url': {
      const r = await fetch(m.weights.url);
      if (!r.ok) throw new Error(`cannot load ${m.weights.url}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    }
    default: {
      const never: never = m.weights;
      throw new Error(`unknown weights ${JSON.stringify(never)}`);
    }
  }
}

async function netFor(model: number, backend: Backend): Promise<{ net: UNet; sched: Schedule }> {
  const key = `${model}:${backend.name}`;
  let e = nets.get(key);
  if (!e) {
    const m = models[model];
    if (!m) throw new Error(`no model ${model} in this page (it has ${models.length})`);
    setCurrentBackend(backend);
    e = { net: unetFromSafetensors(m.config, await weightsOf(m), backend, m.source), sched: scheduleOf(m.schedule) };
    nets.set(key, e);
  }
  return e;
}

function backendOf(choice: BackendChoice): { backend: Backend; read: ReadBack } {
  if (choice === 'webgpu') {
    if (!gpu) throw new Error('WebGPU is not available in this browser (navigator.gpu gave no adapter): choose js');
    const g = gpu;
    return { backend: g, read: (t) => g.readAsync(t.storageFor('read')) };
  }
  // The js backend computes synchronously: yield once per model call so the page can paint.
  return { backend: js, read: async (t) => { await new Promise((r) => setTimeout(r, 0)); return Float32Array.from(t.toArray()); } };
}

/** Sample one class; `onStep` sees x_t and x̂_0 after every solver step. */
async function sample(req: PageRequest, onStep?: ClassSampleRequest['onStep']): Promise<Float32Array> {
  const { backend, read } = backendOf(req.backend);
  const { net, sched } = await netFor(req.model, backend);
  setCurrentBackend(backend);
  const model: EpsModel = guidedEpsModel(net, req.omega, read);
  return sampleClass(net, sched, model, { ...req, ...(onStep ? { onStep } : {}) });
}

// ---- drawing ---------------------------------------------------------------------------------------

/** Draw images (n×C×S×S, values in [0, 1], clamped) in a row at (x0, y0), each `scale`× enlarged. */
function drawRow(ctx: CanvasRenderingContext2D, x: Float32Array, n: number, C: number, S: number, x0: number, y0: number, scale: number, map: (v: number) => number): void {
  const img = ctx.createImageData(S, S);
  const tmp = document.createElement('canvas');
  tmp.width = S;
  tmp.height = S;
  const tctx = tmp.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < S * S; i++) {
      for (let c = 0; c < 3; c++) {
        const v = map(x[(k * C + (C === 1 ? 0 : c)) * S * S + i]!);
        img.data[4 * i + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      img.data[4 * i + 3] = 255;
    }
    tctx.putImageData(img, 0, 0);
    ctx.drawImage(tmp, x0 + k * (S * scale + 2), y0, S * scale, S * scale);
  }
}

function settings(): PageRequest {
  const num = (id: string) => Number(($(id) as HTMLInputElement).value);
  return {
    model: num('model'), backend: ($('backend') as HTMLSelectElement).value as BackendChoice,
    cls: num('cls'), n: num('n'), sampler: ($('solver') as HTMLSelectElement).value as SamplerName,
    steps: num('steps'), omega: num('omega'), eta: ($('solver') as HTMLSelectElement).value === 'ddim' ? num('eta') : 0, seed: num('seed'),
  };
}

async function run(what: 'live' | 'grid'): Promise<void> {
  if (busy) return;
  busy = true;
  $('error').textContent = '';
  $('progress').textContent = 'starting…';
  const t0 = performance.now();
  try {
    const req = settings();
    const m = models[req.model]!;
    const { imageSize: S, channels: C } = m.config;
    const scale = Math.max(2, Math.floor(64 / S));
    const cell = S * scale + 2;
    if (what === 'live') {
      const canvas = $('live') as HTMLCanvasElement;
      canvas.width = req.n * cell;
      canvas.height = 2 * cell + 4;
      const ctx = canvas.getContext('2d')!;
      const x = await sample(req, (s) => {
        drawRow(ctx, s.x, req.n, C, S, 0, 0, scale, (v) => (v + 1) / 2);
        drawRow(ctx, s.x0, req.n, C, S, 0, cell + 4, scale, (v) => (v + 1) / 2);
        $('progress').textContent = `step ${s.step}/${s.n} (t = ${s.t}); top: x_t, bottom: x̂_0`;
      });
      drawRow(ctx, x, req.n, C, S, 0, cell + 4, scale, (v) => v);
    } else {
      const K = m.config.numClasses;
      const canvas = $('grid') as HTMLCanvasElement;
      canvas.width = req.n * cell;
      canvas.height = K * cell;
      const ctx = canvas.getContext('2d')!;
      const labels = $('grid-labels');
      labels.innerHTML = '';
      for (let c = 0; c < K; c++) {
        $('progress').textContent = `grid: class ${c + 1}/${K}`;
        const x = await sample({ ...req, cls: c });
        drawRow(ctx, x, req.n, C, S, 0, c * cell, scale, (v) => v);
        const li = document.createElement('li');
        li.textContent = m.classNames[c] ?? `class ${c}`;
        li.style.height = `${cell}px`;
        labels.appendChild(li);
      }
    }
    $('progress').textContent += ` — done in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${req.backend}`;
  } catch (e) {
    $('error').textContent = (e as Error).message;
  } finally {
    busy = false;
  }
}

function setup(): void {
  const opts = (el: HTMLElement, items: Array<[string, string]>) => {
    el.innerHTML = '';
    for (const [v, t] of items) {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = t;
      el.appendChild(o);
    }
  };
  opts($('model'), models.map((m, i) => [String(i), m.label]));
  const onModel = () => {
    const m = models[Number(($('model') as HTMLSelectElement).value)]!;
    opts($('cls'), m.classNames.map((n, i) => [String(i), `${i}: ${n}${m.counts ? ` (${m.counts[i]} training images)` : ''}`]));
    ($('omega') as HTMLInputElement).value = String(m.omega);
    $('omega-value').textContent = String(m.omega);
  };
  $('model').addEventListener('change', onModel);
  onModel();
  opts($('solver'), SAMPLER_NAMES.map((n) => [n, `${n} — ${SAMPLERS[n].title}`]));
  ($('solver') as HTMLSelectElement).value = 'ddim';
  $('omega').addEventListener('input', () => { $('omega-value').textContent = ($('omega') as HTMLInputElement).value; });
  $('run').addEventListener('click', () => void run('live'));
  $('run-grid').addEventListener('click', () => void run('grid'));
}

async function init(): Promise<void> {
  setup();
  const nav = navigator as Navigator & { gpu?: Gpu };
  try {
    gpu = await WebGpuBackend.create(nav.gpu);
  } catch (e) {
    gpu = null;
    $('backend-info').textContent = `WebGPU failed (${(e as Error).message}); `;
  }
  const sel = $('backend') as HTMLSelectElement;
  // A CPU emulation of WebGPU (SwiftShader, lavapipe) measured slower than the js backend on the
  // tiny demo model (README, "The sampler page"), so there js is chosen and WebGPU stays selectable.
  let emulated = false;
  if (gpu) {
    const i = gpu.adapterInfo;
    const name = [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ');
    emulated = /swiftshader|lavapipe|llvmpipe/i.test(name);
    $('backend-info').textContent = `WebGPU adapter: ${name || 'unnamed'}${emulated ? ' (a CPU emulation: the js backend is faster and chosen)' : ''}`;
  } else {
    $('backend-info').textContent += 'no WebGPU adapter: the js backend runs the model on the CPU';
    sel.querySelector('option[value="webgpu"]')?.remove();
  }
  sel.value = gpu && !emulated ? 'webgpu' : 'js';
  document.body.dataset.ready = gpu ? 'webgpu' : 'js';
}

declare global {
  interface Window {
    cbdmSampler: { ready: Promise<void>; webgpu: () => boolean; sample: (req: PageRequest) => Promise<{ x: number[]; states: number[] }> };
  }
}

window.cbdmSampler = {
  ready: init(),
  webgpu: () => gpu !== null,
  /** The images in [0, 1] and the unclipped state x_t after every step (concatenated). */
  sample: async (req) => {
    const states: number[] = [];
    const x = await sample(req, (s) => { for (const v of s.x) states.push(v); });
    return { x: Array.from(x), states };
  },
};
