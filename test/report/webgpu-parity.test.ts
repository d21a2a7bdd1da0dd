/**
 * The webgpu backend's kernels against the js backend (the specification), in headless Chromium
 * on its SwiftShader WebGPU adapter: test/report/webgpu-parity-page.ts runs each kernel on both
 * and reports max |Δ|. Tolerance: 2e-6 · (1 + max |reference value|) per case — float32 rounding
 * (the js kernels accumulate some sums in float64; WGSL's exp is within a few ulp).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { launchWebGpuBrowser } from './browser.ts';
import type { ParityResult } from './webgpu-parity-page.ts';

test('webgpu kernels equal the js kernels to float32 rounding (headless Chromium, SwiftShader)', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-webgpu-parity-'));
  const js = await esbuild.build({ entryPoints: [join(import.meta.dirname, 'webgpu-parity-page.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'silent' });
  const page = join(dir, 'parity.html');
  writeFileSync(page, `<!doctype html><meta charset="utf-8"><script>${js.outputFiles[0]!.text}</script>`);
  const browser = await launchWebGpuBrowser();
  try {
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(String(e)));
    await p.goto(pathToFileURL(page).href);
    const r = (await p.evaluate('window.runParity()')) as ParityResult[] | string;
    if (typeof r === 'string') return t.skip(`this Chromium has ${r} (it needs WebGPU's SwiftShader adapter)`);
    assert.deepEqual(errors, []);
    assert.equal(r.length, 25);
    for (const c of r) {
      assert.ok(c.n > 0 && c.maxRef > 0, `${c.name}: compared ${c.n} values`);
      assert.ok(c.maxAbs <= 2e-6 * (1 + c.maxRef), `${c.name}: max |webgpu − js| = ${c.maxAbs} (reference max ${c.maxRef})`);
    }
    t.diagnostic(r.map((c) => `${c.name}: ${c.maxAbs.toExponential(1)}`).join('; '));
  } finally {
    await browser.close();
  }
});
