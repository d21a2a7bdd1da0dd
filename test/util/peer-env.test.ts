import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerEnv } from '../../src/util/peer-env.ts';

test('peerEnv: benchmark peers run without the OpenBLAS kernel overrides, with their own settings added', () => {
  const env = peerEnv({ OMP_NUM_THREADS: '2' }, { PATH: '/usr/bin', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '512', OPENBLAS_NUM_THREADS: '1' });
  assert.deepEqual(env, { PATH: '/usr/bin', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '2' });
});
