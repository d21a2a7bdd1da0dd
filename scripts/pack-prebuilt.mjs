// `npm pack` / `npm publish` carry the native addon built here in prebuilt/<platform>-<arch>/,
// so an install of the package on the same platform needs no compiler (scripts/build-native.mjs
// keeps it when it loads; other platforms build from native/ as a checkout does).
//   node scripts/pack-prebuilt.mjs copy    (prepack)  copy build/Release/cbdm_native.node there
//   node scripts/pack-prebuilt.mjs clean   (postpack) remove prebuilt/ again
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'build', 'Release', 'cbdm_native.node');
const dest = join(root, 'prebuilt', `${process.platform}-${process.arch}`, 'cbdm_native.node');
const mode = process.argv[2];
if (mode === 'copy') {
  rmSync(join(root, 'prebuilt'), { recursive: true, force: true });
  if (existsSync(built)) {
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(built, dest);
  } else {
    console.warn(`cbdm: ${built} is not built; the package carries no prebuilt addon (installs build it from source)`);
  }
} else if (mode === 'clean') {
  rmSync(join(root, 'prebuilt'), { recursive: true, force: true });
} else {
  console.error('usage: node scripts/pack-prebuilt.mjs copy|clean');
  process.exit(2);
}
