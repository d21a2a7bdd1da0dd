import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readTarGz, writeTar } from '../../src/data/tar.ts';
import { CbdmError } from '../../src/util/errors.ts';

const LONG = 'deep/' + 'x'.repeat(60) + '/' + 'y'.repeat(60) + '/long_name.bin';

for (const name of ['gnu.tar.gz', 'pax.tar.gz']) {
  test(`readTarGz reads Python tarfile's ${name} (long names, empty and multi-block files)`, () => {
    const entries = readTarGz(new Uint8Array(readFileSync(new URL(`../fixtures/data/${name}`, import.meta.url))), name);
    const files = new Map(entries.filter((e) => e.type === '0').map((e) => [e.name, e.data]));
    assert.ok(entries.some((e) => e.name.replace(/\/$/, '') === 'top' && e.type === '5'));
    assert.equal(Buffer.from(files.get('top/hello.txt')!).toString(), 'hello tar\n');
    assert.equal(files.get('top/empty.bin')!.length, 0);
    const k = files.get('top/k.bin')!;
    assert.equal(k.length, 1000);
    for (let i = 0; i < 1000; i++) assert.equal(k[i], (i * 7) % 256);
    const long = files.get(LONG)!;
    assert.ok(long, `long name missing; got ${[...files.keys()].join(', ')}`);
    assert.equal(long.length, 768);
    assert.equal(long[300], 300 % 256);
    assert.equal(files.size, 4);
  });
}

test('writeTar round-trips and damaged archives fail with a clear error', () => {
  const data = new Uint8Array(700).map((_, i) => i % 251);
  const tar = writeTar([{ name: 'a/b.bin', data }, { name: 'c.txt', data: Buffer.from('hi') }]);
  const back = readTarGz(gzipSync(tar), 'x.tar.gz');
  assert.deepEqual(back.map((e) => e.name), ['a/b.bin', 'c.txt']);
  assert.deepEqual(Buffer.from(back[0]!.data), Buffer.from(data));
  assert.throws(() => readTarGz(tar.subarray(0, 900), 'cut.tar'), (e: unknown) => e instanceof CbdmError && /cut\.tar: truncated/.test(e.message) && /a\/b\.bin/.test(e.message));
  const gz = gzipSync(tar);
  assert.throws(() => readTarGz(gz.subarray(0, gz.length - 20), 'cut.tar.gz'), (e: unknown) => e instanceof CbdmError && /cut\.tar\.gz: cannot decompress/.test(e.message));
  const bad = new Uint8Array(tar);
  bad[10] ^= 0xff;
  assert.throws(() => readTarGz(bad, 'bad.tar'), (e: unknown) => e instanceof CbdmError && /checksum/.test(e.message));
});
