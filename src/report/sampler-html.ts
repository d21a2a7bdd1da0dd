/**
 * The sampler page: one HTML file with the page script (src/report/sampler/page.ts, bundled by
 * esbuild) and the models inlined, so it works offline from file:// — or, under `cbdm serve`, with
 * the weights fetched from the server (any size).
 *
 * Inline weights are base64 (4/3 of the safetensors size), so the page is kept to models whose
 * EMA weights total at most SAMPLER_INLINE_LIMIT_BYTES (16 MiB: the tiny preset is 4.6 MB; the
 * small preset needs `cbdm serve`).
 *
 * The bundle: a checkout has src/ and esbuild (a devDependency), and bundles the current source in
 * memory (≈ 0.2 s); an installed package has no esbuild and reads dist/sampler-page.js, written by
 * `npm run build:sampler` (scripts/build-sampler.mjs) when the package is built.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.ts';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CbdmError } from '../util/errors.ts';
import { validateUNetConfig, type ResolvedUNetConfig, type UNetConfig } from '../models/unet.ts';
import type { SamplerPageModel, SamplerWeights } from './sampler/types.ts';
import { runSchedule } from '../train/config-file.ts';

export const SAMPLER_INLINE_LIMIT_BYTES = 16 * 1024 * 1024;

/** The package root: the nearest folder above this file holding package.json. */
function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('sampler page: cannot find the cbdm package root');
    d = up;
  }
  return d;
}

/** Where `npm run build:sampler` writes the bundle. */
export function prebuiltBundlePath(): string {
  return join(packageRoot(), 'dist', 'sampler-page.js');
}

/** esbuild options of the page bundle (shared with scripts/build-sampler.mjs through bundleSamplerPage). */
async function esbuildBundle(entry: string): Promise<string | null> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return null;
  }
  const r = await esbuild.build({
    entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022',
    minify: true, legalComments: 'none', logLevel: 'silent',
    plugins: [{
      // Modules the page imports for pure functions (safetensors parsing) also import node:fs for
      // their file helpers; the page never calls those, so node built-ins become empty modules.
      name: 'node-builtins-unused',
      setup(b) {
        b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-unused' }));
        b.onLoad({ filter: /.*/, namespace: 'node-unused' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
      },
    }],
  });
  return r.outputFiles[0]!.text;
}

let cached: string | null = null;

/** The page script: bundled from source in a checkout, else the prebuilt dist/sampler-page.js. */
export async function samplerBundle(): Promise<string> {
  if (cached !== null) return cached;
  const entry = join(packageRoot(), 'src', 'report', 'sampler', 'page.ts');
  const built = existsSync(entry) ? await esbuildBundle(entry) : null;
  if (built !== null) return (cached = built);
  const pre = prebuiltBundlePath();
  if (existsSync(pre)) return (cached = readFileSync(pre, 'utf8'));
  throw new CbdmError(`the sampler page script is missing (${pre}): run 'npm run build:sampler' in the cbdm package`);
}

/** Bundle the page script from source (scripts/build-sampler.mjs); throws if esbuild is not installed. */
export async function bundleSamplerPage(): Promise<string> {
  const text = await esbuildBundle(join(packageRoot(), 'src', 'report', 'sampler', 'page.ts'));
  if (text === null) throw new CbdmError('bundling the sampler page needs esbuild (a devDependency): run npm install in the cbdm checkout');
  return text;
}

/**
 * A run directory's model for the page: config.json's UNet, data.json's class names and counts,
 * the run's --omega-eval, and its ema.safetensors (inlined, or served at `weightsUrl`).
 */
export function samplerModelOf(runDir: string, label: string | undefined, weightsUrl?: string): SamplerPageModel {
  const emaPath = join(runDir, 'ema.safetensors');
  if (!existsSync(emaPath)) throw new CbdmError(`${runDir} has no ema.safetensors (the EMA weights a finished 'cbdm train' writes): train it first`);
  const cfgPath = join(runDir, 'config.json');
  const cfg = readJson(cfgPath) as { model?: UNetConfig; train?: { omegaEval?: number } };
  if (typeof cfg.model !== 'object' || cfg.model === null) throw new CbdmError(`${cfgPath} lacks the "model" object (UNet config); the file is corrupt`);
  validateUNetConfig(cfg.model);
  const config: ResolvedUNetConfig = { ...cfg.model, channels: cfg.model.channels ?? 3 };
  if (config.numClasses < 1) throw new CbdmError(`${runDir}: the sampler page shows class-conditional models; this one is unconditional`);
  const dataPath = join(runDir, 'data.json');
  const data = existsSync(dataPath) ? (readJson(dataPath) as { classNames?: unknown; counts?: unknown }) : {};
  const names = Array.isArray(data.classNames) && data.classNames.length === config.numClasses ? data.classNames.map(String) : null;
  const counts = Array.isArray(data.counts) && data.counts.length === config.numClasses ? data.counts.map(Number) : null;
  let weights: SamplerWeights;
  if (weightsUrl !== undefined) {
    weights = { kind: 'url', url: weightsUrl };
  } else {
    const bytes = statSync(emaPath).size;
    if (bytes > SAMPLER_INLINE_LIMIT_BYTES) throw new CbdmError(samplerTooLarge(emaPath, bytes));
    weights = { kind: 'inline', base64: readFileSync(emaPath).toString('base64') };
  }
  return {
    label: label ?? basename(runDir), source: emaPath, config,
    classNames: names ?? Array.from({ length: config.numClasses }, (_, i) => `class ${i}`), counts,
    omega: typeof cfg.train?.omegaEval === 'number' ? cfg.train.omegaEval : 0, weights, schedule: runSchedule(runDir, config.T),
  };
}

/** Why a model is not inlined, and what to do instead. */
export function samplerTooLarge(what: string, bytes: number): string {
  return `${what} is ${(bytes / 2 ** 20).toFixed(1)} MiB, above the ${SAMPLER_INLINE_LIMIT_BYTES / 2 ** 20} MiB that sampler.html inlines; open it with 'cbdm serve --run DIR' instead`;
}

/** The whole page. `<` in the embedded JSON and `</script` in the bundle are escaped. */
export function renderSamplerPage(models: SamplerPageModel[], bundle: string, title = 'cbdm sampler'): string {
  if (models.length === 0) throw new Error('renderSamplerPage: no models');
  const inlined = models.reduce((s, m) => s + (m.weights.kind === 'inline' ? (m.weights.base64.length * 3) / 4 : 0), 0);
  if (inlined > SAMPLER_INLINE_LIMIT_BYTES) throw new CbdmError(samplerTooLarge(`the weights of ${models.map((m) => m.label).join(', ')}`, inlined));
  const json = JSON.stringify(models).replace(/</g, '\\u003c');
  const script = bundle.replace(/<\/script/gi, '<\\/script');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="icon" href="data:,">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em; color: #222; }
fieldset { display: flex; flex-wrap: wrap; gap: .6em 1.4em; border: 1px solid #ccc; border-radius: 6px; }
label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
select, input { font: inherit; } select#solver { max-width: 22em; } input[type=number] { width: 6em; }
button { font: inherit; padding: .4em 1em; margin: .8em .6em 0 0; }
canvas { image-rendering: pixelated; background: #eee; margin-top: .6em; }
#error { color: #b00; white-space: pre-wrap; } #backend-info, #progress { color: #555; }
#grid-wrap { display: flex; gap: .6em; } #grid-labels { list-style: none; margin: .6em 0 0; padding: 0; font-size: 12px; }
#grid-labels li { display: flex; align-items: center; justify-content: flex-end; }
</style></head>
<body>
<h1>${esc(title)}</h1>
<p id="backend-info">starting…</p>
<fieldset>
<label>model <select id="model"></select></label>
<label>class <select id="cls"></select></label>
<label>guidance ω = <span id="omega-value"></span><input id="omega" type="range" min="0" max="8" step="0.1"></label>
<label>solver <select id="solver"></select></label>
<label>steps <input id="steps" type="number" min="1" value="20"></label>
<label>DDIM η <input id="eta" type="number" min="0" max="1" step="0.1" value="0"></label>
<label>seed <input id="seed" type="number" value="0"></label>
<label>images <input id="n" type="number" min="1" max="32" value="8"></label>
<label>backend <select id="backend"><option value="webgpu">WebGPU</option><option value="js">js (CPU)</option></select></label>
</fieldset>
<button id="run">Sample and watch</button><button id="run-grid">Grid: every class</button>
<p id="progress"></p><p id="error"></p>
<canvas id="live" width="0" height="0"></canvas>
<div id="grid-wrap"><ol id="grid-labels"></ol><canvas id="grid" width="0" height="0"></canvas></div>
<script id="cbdm-models" type="application/json">${json}</script>
<script>${script}</script>
</body></html>
`;
}

/**
 * sampler.html for a report at `reportPath` (same folder), rendered but not written, for those runs
 * that have EMA weights, when the weights fit inline; or null and why not (null and no note when no
 * run has weights, e.g. runs evaluated from samples only). The report is rendered knowing whether
 * it will link the page, and written before it.
 */
export async function samplerPageBeside(reportPath: string, runDirs: readonly string[], labels?: readonly string[]):
  Promise<{ path: string; html: string } | { path: null; note: string | null }> {
  const withWeights = runDirs.map((d, i) => ({ dir: d, label: labels?.[i] })).filter((r) => existsSync(join(r.dir, 'ema.safetensors')));
  if (withWeights.length === 0) return { path: null, note: null };
  const bytes = withWeights.reduce((s, r) => s + statSync(join(r.dir, 'ema.safetensors')).size, 0);
  if (bytes > SAMPLER_INLINE_LIMIT_BYTES) {
    return { path: null, note: `sampler.html not written: ${samplerTooLarge(`the EMA weights of ${withWeights.map((r) => r.dir).join(', ')}`, bytes)}` };
  }
  const models = withWeights.map((r) => samplerModelOf(r.dir, r.label));
  return { path: join(dirname(reportPath), 'sampler.html'), html: renderSamplerPage(models, await samplerBundle(), `cbdm sampler: ${models.map((m) => m.label).join(' vs ')}`) };
}

/** Write sampler.html beside a report (see samplerPageBeside). Returns the page's path, or null and why not. */
export async function writeSamplerPageBeside(reportPath: string, runDirs: readonly string[], labels?: readonly string[]):
  Promise<{ path: string | null; note: string | null }> {
  const page = await samplerPageBeside(reportPath, runDirs, labels);
  if (page.path === null) return page;
  writeFileAtomic(page.path, page.html);
  return { path: page.path, note: null };
}

function readJson(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CbdmError(`cannot read ${path} (${(e as Error).message}): a run directory holds config.json from 'cbdm train'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CbdmError(`${path} must hold a JSON object; the file is corrupt`);
  return v as Record<string, unknown>;
}
