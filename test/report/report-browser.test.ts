/**
 * The report in a real browser: render two fake runs, open report.html in headless Chromium and
 * check that it works offline — no console or page errors, no network requests, every chart
 * canvas has drawn pixels, every image decoded, the Many/Medium/Few table has its 3 rows, and no
 * element makes the page wider than the window.
 * Leaves a full-page screenshot in test-artifacts/report.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readRunDir } from '../../src/report/run-dir.ts';
import { renderReport } from '../../src/report/html.ts';
import { writeFileAtomic } from '../../src/io/atomic.ts';
import { makeFakeRunPair } from './fake-runs.ts';
import { launchBrowser } from './browser.ts';

interface CanvasCheck { id: string; width: number; height: number; inked: number; variance: number }

// Runs in the page (a string: this project's TypeScript has no DOM lib). Per canvas: the share of
// painted (non-transparent) pixels and the variance of luminance over all pixels.
const CANVAS_PROBE = `Array.from(document.querySelectorAll('canvas')).map((c) => {
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let inked = 0, sum = 0, sum2 = 0;
  for (let i = 0; i < px.length; i += 4) {
    const lum = px[i + 3] === 0 ? 255 : (px[i] + px[i + 1] + px[i + 2]) / 3;
    if (px[i + 3] > 0) inked++;
    sum += lum; sum2 += lum * lum;
  }
  const n = px.length / 4;
  return { id: c.id, width: c.width, height: c.height, inked: inked / n, variance: sum2 / n - (sum / n) ** 2 };
})`;

test('report.html renders offline in headless Chromium: charts drawn, images loaded, M/M/F table', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'cbdm-report-browser-'));
  const browser = await launchBrowser();
  try {
    const dirs = makeFakeRunPair(root);
    const runs = await Promise.all(dirs.map((d) => readRunDir(d)));
    const html = renderReport(runs, { title: 'Fake shapes10-lt: DDPM vs CBDM', note: 'Fake data for the browser test.\n\nCBDM did not beat DDPM on Few at this budget.' });
    const file = join(root, 'report.html');
    writeFileAtomic(file, html);

    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
    page.on('request', (r) => { if (!/^(file|data):/.test(r.url())) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-drawn]', { timeout: 10_000 });

    const drawn = Number(await page.$eval('body', (b) => b.getAttribute('data-charts-drawn')));
    const canvases = (await page.evaluate(CANVAS_PROBE)) as CanvasCheck[];
    // 1 histogram + 4 per-class metrics + 1 loss + 2 loss-term charts.
    assert.equal(canvases.length, 8, `canvases: ${canvases.map((c) => c.id).join(', ')}`);
    assert.equal(drawn, canvases.length, 'every chart spec was drawn');
    for (const c of canvases) {
      assert.ok(c.width > 100 && c.height > 100, `${c.id} has a real size (${c.width}×${c.height})`);
      assert.ok(c.inked > 0.01 && c.variance > 50, `${c.id} is not blank (inked ${c.inked.toFixed(4)}, variance ${c.variance.toFixed(1)})`);
    }

    const imgs = (await page.evaluate('Array.from(document.images).map((i) => ({ alt: i.alt, ok: i.complete && i.naturalWidth > 0 }))')) as { alt: string; ok: boolean }[];
    // 10 classes × 2 runs of sample grids + 3 Few classes × 2 runs of nearest-neighbour panels.
    assert.equal(imgs.length, 26);
    for (const i of imgs) assert.ok(i.ok, `image not loaded: ${i.alt}`);

    const groupRows = await page.$$eval('#groups-table tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.equal(groupRows.length, 3);
    assert.match(groupRows[2]!, /Few/);
    // bold only where one run is ahead by more than the level tolerance (bestIndices)
    const bold = await page.$$eval('#groups-table td.best', (cells) => cells.length);
    const expected = (/<table id="groups-table">.*?<\/table>/s.exec(html)![0].match(/<td class="best">/g) ?? []).length;
    assert.ok(expected >= 6, `the fake runs differ clearly on most metrics (${expected} bold)`);
    assert.equal(bold, expected);

    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [], 'the report must not touch the network');

    const artifacts = join(process.cwd(), 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'report.png') as `${string}.png`, fullPage: true });

    // nothing wider than the page, even on a phone-width window: wide tables scroll inside their box
    await page.setViewport({ width: 420, height: 800 });
    const width = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as [number, number];
    const wide = width[0] > width[1] ? await page.evaluate(`Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > ${width[1]} + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className).join(', ')`) : '';
    assert.ok(width[0] <= width[1], `page content ${width[0]} px wide in a ${width[1]} px window: ${String(wide)}`);
  } finally {
    await browser.close();
    rmSync(root, { recursive: true, force: true });
  }
});
