/**
 * Headless Chromium for tests, with no download: puppeteer-core drives the Chromium that the
 * @sparticuz/chromium package carries compressed (decompressed into /tmp on first use).
 */
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Extra flags: no GPU, no background network, no first-run UI. */
export const EXTRA_CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** Launch headless Chromium (headless 'shell', the mode the packaged binary is built for). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  const args = [...new Set([...chromium.args, ...EXTRA_CHROMIUM_ARGS])];
  return puppeteer.launch({ executablePath, args, headless: 'shell', defaultViewport: { width: 1280, height: 900, deviceScaleFactor: 1 } });
}
