/**
 * Screenshot a report for the README: `node --import tsx scripts/screenshot-report.ts
 * runs/demo/report.html docs/report.png [height]` — the top `height` CSS pixels (default 2200) of
 * the page at 1280 px wide, in the headless Chromium the tests use.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { launchBrowser } from '../test/report/browser.ts';

const [file, out, h] = process.argv.slice(2);
if (!file || !out) throw new Error('usage: screenshot-report.ts REPORT.html OUT.png [height]');
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
  await page.waitForSelector('body[data-charts-drawn]', { timeout: 20_000 });
  await page.screenshot({ path: out as `${string}.png`, clip: { x: 0, y: 0, width: 1280, height: Number(h ?? 2200) } });
  console.log(`${out} written`);
} finally {
  await browser.close();
}
