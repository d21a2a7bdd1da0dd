/** A tiny Fashion-MNIST-shaped IDX fixture, written by the tests that need one. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/io/idx.ts';
import { fashionMnistFiles } from '../../src/data/fashion-mnist.ts';

/**
 * Write the two IDX files of `split` into `dir`: `perClass` 28×28 images per class, labels
 * interleaved (i·3 mod 10) as in the real files, pixel (r, c) of image i = (i + offset + r + c) mod 256
 * (offset default 0; a test split with another offset holds images unlike the train split's).
 * gzip'd unless `gzip: false` (the reader takes raw IDX under a .gz name too).
 */
export function writeFashionFixture(dir: string, split: 'train' | 'test', perClass: number, opts: { gzip?: boolean; offset?: number } = {}): { images: Uint8Array; labels: Uint8Array } {
  const n = 10 * perClass;
  const images = new Uint8Array(n * 28 * 28);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = (i * 3) % 10;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = (i + (opts.offset ?? 0) + Math.floor(p / 28) + (p % 28)) % 256;
  }
  const f = fashionMnistFiles(split);
  const enc = (b: Uint8Array) => (opts.gzip === false ? b : gzipSync(b));
  writeFileSync(join(dir, f.images), enc(encodeIdx([n, 28, 28], images)));
  writeFileSync(join(dir, f.labels), enc(encodeIdx([n], labels)));
  return { images, labels };
}
