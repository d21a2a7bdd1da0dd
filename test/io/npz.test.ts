import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpz, npzGet, readNpz, writeNpz } from '../../src/io/npz.ts';
import { encodeNpy, parseNpy } from '../../src/io/npy.ts';
import { fromNumbers } from '../../src/io/ndarray.ts';
import { encodeZip, readZip } from '../../src/io/zip.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { assertNd, fixture, fixturePath, fixtureStats, seq } from './helpers.ts';

test('reads FID stats written by np.savez and np.savez_compressed', () => {
  const { mu, sigma } = fixtureStats();
  for (const f of ['stats_savez.npz', 'stats_savez_compressed.npz']) {
    const s = readNpz(fixturePath(f));
    assert.deepEqual(Object.keys(s).sort(), ['mu', 'sigma']);
    assertNd(s.mu!, 'float64', [16], mu);
    assertNd(s.sigma!, 'float64', [16, 16], sigma, 1e-12);
    // exactly NumPy's values, not just close
    assert.deepEqual(s.sigma, parseNpy(fixture('stats_sigma.npy')));
  }
});

test('reads zip64 (force_zip64) and streamed (data descriptor) npz files', () => {
  const z = readNpz(fixture('zip64_deflated.npz'));
  assertNd(z.mu!, 'float64', [16], fixtureStats().mu);
  assertNd(z.labels!, 'int64', [10], seq(10, (i) => i));
  const s = readNpz(fixture('streamed_descriptors.npz'));
  assertNd(s.stored!, 'int16', [5], seq(5, (i) => i));
});

test('our npz of the fixed {mu, sigma} is byte-identical to the committed files NumPy verified', () => {
  // check_ours.py loads ours_stats*.npz with NumPy and compares with stats_{mu,sigma}.npy.
  const mu = parseNpy(fixture('stats_mu.npy'));
  const sigma = parseNpy(fixture('stats_sigma.npy'));
  assert.deepEqual(encodeNpz({ mu, sigma }), fixture('ours_stats.npz'));
  // Deflate output may vary with the zlib build, so the compressed file is compared by content.
  assert.deepEqual(readZip(encodeNpz({ mu, sigma }, { compressed: true })), readZip(fixture('ours_stats_compressed.npz')));
  // each entry holds exactly the bytes np.save writes
  const entries = readZip(fixture('ours_stats.npz'));
  assert.deepEqual(entries.get('mu.npy'), fixture('stats_mu.npy'));
  assert.deepEqual(entries.get('sigma.npy'), fixture('stats_sigma.npy'));
  assert.deepEqual(readNpz(fixture('ours_stats_compressed.npz')), { mu, sigma });
});

test('writeNpz round-trips through a file atomically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-npz-'));
  try {
    const arrays = { a: fromNumbers('float32', [2, 2], [1, 2, 3, 4]), flags: fromNumbers('bool', [3], [1, 0, 1]) };
    const p = join(dir, 'sub', 'x.npz');
    writeNpz(p, arrays, { compressed: true });
    assert.deepEqual(readNpz(p), arrays);
    assert.deepEqual(readZip(new Uint8Array(readFileSync(p))).get('a.npy'), encodeNpy(arrays.a));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npz errors name the file and entry', () => {
  const is = (re: RegExp) => (e: unknown) => e instanceof CbdmError && re.test(e.message);
  assert.throws(() => readNpz('/nonexistent/stats.npz'), is(/cannot read \/nonexistent\/stats\.npz/));
  const notNpy = encodeZip([{ name: 'x.npy', data: new TextEncoder().encode('not an array') }], { compress: false });
  assert.throws(() => readNpz(notNpy), is(/\.npz data entry 'x\.npy': not a \.npy file/));
  const truncated = encodeNpy(fromNumbers('float64', [4], [1, 2, 3, 4])).subarray(0, 140);
  assert.throws(() => readNpz(encodeZip([{ name: 'mu.npy', data: truncated }], { compress: true })), is(/entry 'mu\.npy': \.npy data truncated/));
  assert.throws(() => npzGet({ mu: fromNumbers('float64', [1], [0]) }, 'sigma', 'ref.npz'), is(/ref\.npz has no array 'sigma' \(it holds: mu\)/));
  assert.throws(() => encodeNpz({ 'a/b': fromNumbers('uint8', [1], [0]) }), /not a valid entry name/);
});
