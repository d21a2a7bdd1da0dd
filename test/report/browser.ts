/**
 * Headless Chromium for tests, with no download: puppeteer-core drives the Chromium that the
 * @sparticuz/chromium package carries compressed (decompressed into /tmp on first use).
 */
import { existsSync } from 'node:fs';
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

/** Debian's Chromium (`apt-get install chromium`), preferred for WebGPU tests when installed. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium with WebGPU on its SwiftShader (CPU) adapter: `--enable-unsafe-webgpu` is the
 * one flag needed. Debian's /usr/bin/chromium when present, else the packaged one. No flag relaxes
 * web security, so file:// pages are tested as a user opens them.
 */
export async function launchWebGpuBrowser(): Promise<Browser> {
  const executablePath = existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : await chromium.executablePath();
  const args = ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
  return puppeteer.launch({ executablePath, args, headless: 'shell', defaultViewport: { width: 1280, height: 900, deviceScaleFactor: 1 } });
}
