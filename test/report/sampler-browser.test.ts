/**
 * sampler.html in headless Chromium, opened from file:// with the network unused: for a fixed
 * seed the page's samples and its states x_t after each step equal node's (js backend) — exactly
 * on the page's js path, within 1e-4 of the largest value on its WebGPU path (SwiftShader
 * adapter; float32 kernels vs js's float64 sums) —
 * the controls sample live and draw a grid per class, and without `navigator.gpu` the page falls
 * back to js; `cbdm serve` gives the same samples with the weights fetched. Uses the 4×4 test model of sampler-run.ts so SwiftShader stays fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'puppeteer-core';
import { useBackend } from '../../src/engine/backends.ts';
import { loadWeightsFile } from '../../src/models/load.ts';
import { generate } from '../../src/diffusion/generate.ts';
import { publishedScheduleFor, scheduleOf } from '../../src/diffusion/schedule.ts';
import { guidedEpsModel, sampleClass } from '../../src/report/sampler/sample.ts';
import { writeSamplerPageBeside } from '../../src/report/sampler-html.ts';
import { startSamplerServer } from '../../src/report/sampler-server.ts';
import { launchWebGpuBrowser } from './browser.ts';
import { SAMPLER_TEST_CONFIG, writeSamplerTestRun } from './sampler-run.ts';

/** max |a − b| relative to max |b|. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

interface PageSample { x: number[]; states: number[] }

async function openPage(browser: Awaited<ReturnType<typeof launchWebGpuBrowser>>, url: string, hideGpu = false): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
  page.on('request', (r) => { if (!/^(file|data):/.test(r.url())) requests.push(r.url()); });
  if (hideGpu) await page.evaluateOnNewDocument('delete Navigator.prototype.gpu');
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: 20_000 });
  return { page, errors, requests };
}

test('sampler.html from file://: WebGPU and js samples equal node\'s, live view and class grid, js fallback; cbdm serve', { timeout: 90_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-sampler-browser-'));
  const run = join(root, 'run');
  writeSamplerTestRun(run);
  const { path } = await writeSamplerPageBeside(join(root, 'report.html'), [run], ['test model']);
  const req = { model: 0, cls: 1, n: 2, sampler: 'ddim' as const, steps: 3, omega: 1.5, eta: 0, seed: 3 };
  // Node's reference: generate() for the images; the same draws through sampleClass (equal to
  // generate bit for bit, test/report/sampler-page.test.ts) for the unclipped states x_t, which an
  // untrained model drives far outside [−1, 1] so that the images alone sit at the clip.
  const net = loadWeightsFile(join(run, 'ema.safetensors'), useBackend('js')).net;
  const sched = scheduleOf(publishedScheduleFor(SAMPLER_TEST_CONFIG.T));
  const want = await generate(net, sched, { n: 2, labels: { kind: 'class', cls: 1 }, sampler: 'ddim', steps: 3, eta: 0, omega: 1.5, variance: 'fixedlarge', clip: 'none', batch: 2, seed: 3 });
  const states: number[] = [];
  await sampleClass(net, sched, guidedEpsModel(net, req.omega, async (x) => Float32Array.from(x.toArray())), { ...req, onStep: (s) => { for (const v of s.x) states.push(v); } });

  const browser = await launchWebGpuBrowser();
  try {
    const { page, errors, requests } = await openPage(browser, pathToFileURL(path!).href);
    const ready = await page.$eval('body', (b) => b.getAttribute('data-ready'));

    const viaJs = (await page.evaluate(`window.cbdmSampler.sample(${JSON.stringify({ ...req, backend: 'js' })})`)) as PageSample;
    assert.deepEqual(viaJs.x, Array.from(want.x), 'the page\'s js path reproduces node\'s images exactly');
    assert.deepEqual(viaJs.states, states, 'and every state x_t');

    if (ready === 'webgpu') {
      const viaGpu = (await page.evaluate(`window.cbdmSampler.sample(${JSON.stringify({ ...req, backend: 'webgpu' })})`)) as PageSample;
      const dx = relDiff(viaGpu.x, want.x), ds = relDiff(viaGpu.states, states);
      assert.ok(dx <= 1e-4 && ds <= 1e-4, `WebGPU vs node: images ${dx}, states ${ds} (max |Δ| / max |node|)`);
      t.diagnostic(`WebGPU vs node, max |Δ| / max |node value|: images ${dx.toExponential(2)}, states x_t ${ds.toExponential(2)} (${states.length} values)`);
    } else {
      t.diagnostic('this Chromium gave no WebGPU adapter: only the js path was compared');
    }

    // The controls (on WebGPU where there is an adapter, though an emulated one defaults to js):
    // a live run draws x_t and x̂_0 after each step, the grid has one row per class.
    assert.equal(await page.$eval('#backend', (e) => (e as HTMLSelectElement).value), 'js', 'SwiftShader: js is the default');
    if (ready === 'webgpu') await page.select('#backend', 'webgpu');
    await page.$eval('#n', (e) => { (e as HTMLInputElement).value = '2'; });
    await page.$eval('#steps', (e) => { (e as HTMLInputElement).value = '2'; });
    await page.click('#run');
    await page.waitForFunction(() => /done in/.test(document.getElementById('progress')!.textContent ?? ''), { timeout: 20_000 });
    const inked = (await page.evaluate(`(() => { const c = document.getElementById('live'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let v = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) v++; return { w: c.width, h: c.height, inked: v / (d.length / 4) }; })()`)) as { w: number; h: number; inked: number };
    assert.ok(inked.w > 0 && inked.h > 0 && inked.inked > 0.5, `live canvas drawn: ${JSON.stringify(inked)}`);
    await page.click('#run-grid');
    await page.waitForFunction(() => /done in/.test(document.getElementById('progress')!.textContent ?? ''), { timeout: 20_000 });
    assert.deepEqual(await page.$$eval('#grid-labels li', (li) => li.map((e) => e.textContent)), ['ring', 'bar', 'dot']);
    assert.match(await page.$eval('#progress', (e) => e.textContent ?? ''), new RegExp(`grid: class 3/3 — done in .* on ${ready}`));
    assert.equal(await page.$eval('#error', (e) => e.textContent), '');
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [], 'the page must work offline');

    // Without navigator.gpu: the js backend, and the same samples.
    const fallback = await openPage(browser, pathToFileURL(path!).href, true);
    assert.equal(await fallback.page.$eval('body', (b) => b.getAttribute('data-ready')), 'js');
    assert.deepEqual(await fallback.page.$$eval('#backend option', (o) => o.map((e) => (e as HTMLOptionElement).value)), ['js']);
    assert.deepEqual(((await fallback.page.evaluate(`window.cbdmSampler.sample(${JSON.stringify({ ...req, backend: 'js' })})`)) as PageSample).x, viaJs.x);
    assert.deepEqual(fallback.errors, []);

    // `cbdm serve`: the same page, its weights fetched from 127.0.0.1.
    const server = await startSamplerServer([run], 0);
    try {
      const served = await openPage(browser, server.url);
      assert.deepEqual(((await served.page.evaluate(`window.cbdmSampler.sample(${JSON.stringify({ ...req, backend: 'js' })})`)) as PageSample).x, viaJs.x);
      assert.deepEqual(served.requests, [server.url, `${server.url}weights/0.safetensors`]);
      assert.deepEqual(served.errors, []);
    } finally {
      await server.close();
    }
  } finally {
    await browser.close();
  }
});
