/**
 * Atomic file writes: write a temp file beside the target, fsync, then rename over it, so a
 * crash or a full disk never leaves a half-written checkpoint, stats file or report.
 */
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { CbdmError, systemErrorReason } from '../util/errors.ts';

/**
 * Write `data` to `path` atomically (creates parent directories). A file-system failure (full
 * disk, read-only mount, …) is a CbdmError naming `path` and how far the write got; `path`
 * itself is then untouched.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd = -1;
  let off = 0;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w');
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* temp may not exist */ }
    const reason = systemErrorReason(e);
    if (reason === null) throw e;
    const full = /ENOSPC|EDQUOT/.test(reason);
    const progress = full ? ` after ${off.toLocaleString('en-US')} of ${bytes.length.toLocaleString('en-US')} bytes` : '';
    throw new CbdmError(`cannot write ${path}: ${reason}${progress}; ${basename(path)} was left as it was (nothing half-written)`);
  }
}
