import { join } from 'node:path';

/**
 * The node arguments that run `cbdm` from the sources, as tests spawn it:
 * `spawn(process.execPath, [...CBDM, 'train', …])`. bin/cbdm.mjs runs the compiled dist/ instead
 * (test/package/pack.test.ts runs that, installed from the packed tarball).
 */
export const CBDM: readonly string[] = ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.ts')];
