/**
 * `cbdm serve`: the sampler page over HTTP on 127.0.0.1, for models of any size. The page is the
 * one sampler.html holds, with each run's ema.safetensors fetched from /weights/<i>.safetensors
 * (read from disk at each request, so a run that trains on shows its latest weights on reload).
 * Nothing else is served; only loopback connections are possible.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CbdmError } from '../util/errors.ts';
import { renderSamplerPage, samplerBundle, samplerModelOf } from './sampler-html.ts';

export const SERVE_HOST = '127.0.0.1';

export interface SamplerServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Start serving the runs' sampler page; `port` 0 picks a free port. */
export async function startSamplerServer(runDirs: readonly string[], port: number, labels?: readonly string[]): Promise<SamplerServer> {
  if (runDirs.length === 0) throw new CbdmError('--run needs at least one run directory');
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new CbdmError(`--port must be an integer in 0..65535, got ${port}`);
  const models = runDirs.map((d, i) => samplerModelOf(d, labels?.[i], `weights/${i}.safetensors`));
  const page = renderSamplerPage(models, await samplerBundle(), `cbdm sampler: ${models.map((m) => m.label).join(' vs ')}`);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, type: string, body: string | Uint8Array) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', page);
    const m = /^\/weights\/(\d+)\.safetensors$/.exec(path);
    const dir = m ? runDirs[Number(m[1])] : undefined;
    if (dir === undefined) return send(404, 'text/plain', 'not found\n');
    readFile(join(dir, 'ema.safetensors')).then(
      (bytes) => send(200, 'application/octet-stream', bytes),
      (e: Error) => send(500, 'text/plain', `cannot read ${join(dir, 'ema.safetensors')}: ${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? new CbdmError(`--port ${port} is in use on ${SERVE_HOST}: choose another port, or --port 0 for a free one`)
      : new CbdmError(`cannot listen on ${SERVE_HOST}:${port}: ${e.message}`)));
    server.listen(port, SERVE_HOST, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  return {
    server, url: `http://${SERVE_HOST}:${bound}/`,
    // A browser keeps its connections open: end them, or close() waits for the browser.
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
