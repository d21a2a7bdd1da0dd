/**
 * User-facing errors: the message says what was wrong and what to do. The CLI prints these
 * without a stack trace; anything else is a bug and keeps its stack.
 */
export class CbdmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CbdmError';
  }
}

/** A run stopped by SIGINT/SIGTERM after saving its state; the CLI exits 130/143 (128 + signal). */
export class Interrupted extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM', message: string) {
    super(message);
    this.name = 'Interrupted';
  }
}

/** File-system failures that are the environment's, not cbdm's: what each code means to a user. */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system',
  EISDIR: 'it is a directory', ENOTDIR: 'a part of the path is a file, not a directory', EEXIST: 'it already exists',
  EMFILE: 'too many open files', ENAMETOOLONG: 'file name too long', EIO: 'input/output error of the device',
};

/** The user-facing meaning of a Node system error (ENOSPC, EROFS, …), or null for anything else. */
export function systemErrorReason(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return e instanceof Error && typeof code === 'string' && SYSTEM_ERRORS[code] !== undefined ? `${SYSTEM_ERRORS[code]} (${code})` : null;
}
