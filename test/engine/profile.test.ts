import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.ts';
import { getBackend } from '../../src/engine/backends.ts';
import { setCurrentBackend } from '../../src/engine/context.ts';
import { profileBackend, formatProfile } from '../../src/engine/profile.ts';

test('profileBackend counts and times every kernel call (conv keyed by shape), and results are unchanged', () => {
  const js = getBackend('js');
  const p = profileBackend(js, { byShape: true });
  const run = () => E.tidy(() => {
    const x = E.tensor(Array.from({ length: 2 * 3 * 4 * 4 }, (_, i) => Math.sin(i)), [2, 3, 4, 4]);
    const w = E.tensor(Array.from({ length: 5 * 3 * 9 }, (_, i) => Math.cos(i)), [5, 3, 3, 3]);
    return E.add(E.conv2d(x, w, null, { pad: 1 }), E.conv2d(x, w, null, { pad: 1 })).toArray();
  });
  setCurrentBackend(js);
  const plain = run();
  setCurrentBackend(p.backend);
  try {
    assert.deepEqual(run(), plain);
  } finally {
    setCurrentBackend(js);
  }
  const rows = p.rows();
  const conv = rows.find((r) => r.kernel === 'conv2dForward 3→5 4×4 k3 s1');
  assert.ok(conv, rows.map((r) => r.kernel).join(', '));
  assert.equal(conv.calls, 2);
  assert.equal(rows.find((r) => r.kernel === 'add')?.calls, 1);
  assert.ok(rows.every((r) => r.ms >= 0) && Math.abs(rows.reduce((a, r) => a + r.share, 0) - 1) < 1e-9);
  assert.match(formatProfile(rows, 10, 'step'), /conv2dForward 3→5 4×4 k3 s1 +2/);
  p.reset();
  assert.equal(p.rows().length, 0);
});
