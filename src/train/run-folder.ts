/**
 * Keeping a run directory consistent across processes: one writer at a time (a lock file holding
 * the writer's PID), no temp files left from a killed writer, and no stale metrics from an
 * earlier start that never reached a checkpoint.
 */
import { closeSync, existsSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CbdmError } from '../util/errors.ts';

/** Name of the lock file inside a run directory. */
export const LOCK_FILE = 'train.lock';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/** Is a process with this PID running on this machine? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';  // exists, owned by someone else
  }
}

/**
 * Take the run directory's lock (created exclusively, so two starters cannot both win). A lock
 * left by a process that is no longer running is taken over. Returns the release function.
 */
export function acquireRunLock(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let held: Partial<LockInfo> = {};
      try {
        held = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
      } catch { /* empty or cut short: its writer died while taking it */ }
      const pid = Number(held.pid);
      if (held.host !== undefined && held.host !== me.host) {
        throw new CbdmError(`${dir} is locked by process ${held.pid} on ${held.host} (${path}); if no cbdm runs there on it, delete ${path}`);
      }
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new CbdmError(`${dir} is in use: process ${pid} is training into it (lock ${path}, since ${held.started ?? '?'}); wait for it to finish or stop it`);
      }
      console.error(`cbdm: note: taking over the lock of ${dir} from process ${Number.isInteger(pid) ? pid : '?'}, which is no longer running`);
      try { unlinkSync(path); } catch { /* another starter took it over first */ }
      continue;
    }
    writeSync(fd, JSON.stringify(me) + '\n');
    closeSync(fd);
    return () => {
      try {
        const cur = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
        if (cur.pid === me.pid) unlinkSync(path);
      } catch { /* gone already */ }
    };
  }
  throw new CbdmError(`cannot take the lock ${path}: other processes keep taking it; run one cbdm train per run directory`);
}

/** Remove temp files of atomic writes (`.NAME.PID.TIME.tmp`) that a killed writer left; returns how many. */
export function removeOrphanTemps(dir: string): number {
  let n = 0;
  for (const d of [dir, join(dir, 'checkpoints')]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      if (!/^\..+\.tmp$/.test(f)) continue;
      try { unlinkSync(join(d, f)); n++; } catch { /* raced away */ }
    }
  }
  return n;
}

/**
 * A fresh start in a directory whose earlier start never reached a checkpoint (it was killed or
 * failed early): remove that start's metrics, TensorBoard events and checkpoint files, so the new
 * run's curves are its own. A directory with EMA weights but no checkpoint is a finished run
 * (e.g. a shipped one) and is refused. Returns the removed file names.
 */
export function clearUnfinishedStart(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (existsSync(join(dir, 'ema.safetensors'))) {
    throw new CbdmError(`${dir} holds a finished run (ema.safetensors) without checkpoints; train into another run directory, or delete ${dir} to train there again`);
  }
  const removed: string[] = [];
  const rm = (name: string) => {
    unlinkSync(join(dir, name));
    removed.push(name);
  };
  for (const f of readdirSync(dir)) if (f === 'metrics.jsonl' || f.startsWith('events.out.tfevents.')) rm(f);
  if (existsSync(join(dir, 'checkpoints'))) {
    for (const f of readdirSync(join(dir, 'checkpoints'))) if (/^step-\d+\.safetensors$/.test(f)) rm(join('checkpoints', f));
  }
  return removed;
}
