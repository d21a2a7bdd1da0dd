/**
 * The folder of a `cbdm classify --out DIR` run, which lets a long classifier run (a 200-epoch
 * ResNet-32 is hours on a CPU) survive a kill, Ctrl-C or a lost machine:
 *   DIR/checkpoint.safetensors  network, optimiser, step, loader and crop-RNG state and the run's
 *                               settings (src/train/classifier-checkpoint.ts), rewritten
 *                               atomically every --ckpt-every epochs, on SIGINT/SIGTERM and at the end
 *   DIR/result.json             the report (what --json prints), written atomically at the end
 *   DIR/train.lock              while a process trains into DIR (src/train/run-folder.ts)
 * `--resume` continues from the checkpoint bit for bit. Its settings are the run's: a setting flag
 * given with --resume must equal the run's value, a flag left out takes it.
 */
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CLASSIFIER_ARCHS, defaultRecipe, type ClassifierArch } from '../train/classifier-train.ts';
import { acquireRunLock, removeOrphanTemps } from '../train/run-folder.ts';
import { CbdmError } from '../util/errors.ts';

/** The checkpoint and result files of a classify folder. */
export const CLASSIFY_CHECKPOINT = 'checkpoint.safetensors';
export const CLASSIFY_RESULT = 'result.json';

/** Checkpoint interval in epochs when --ckpt-every is not given. */
export const DEFAULT_CKPT_EVERY_EPOCHS = 1;

/** The settings that decide what a classify run computes, each with its flag. */
export const CLASSIFY_SETTING_FLAGS = {
  dataset: '--dataset', root: '--root', augmentWith: '--augment-with', fillTo: '--fill-to', maxPerClass: '--max-per-class',
  imb: '--imb', size: '--image-size', testPerClass: '--test-per-class', arch: '--arch', epochs: '--epochs', steps: '--steps',
  batch: '--batch', lr: '--lr', seed: '--seed',
} as const;
export type ClassifySettingKey = keyof typeof CLASSIFY_SETTING_FLAGS;

/**
 * A run's settings as saved in its checkpoint: resolved values (the recipe's defaults filled in,
 * paths absolute), null for an optional input that was not given.
 */
export interface ClassifyRunSettings {
  dataset: string;
  root: string | null;
  augmentWith: string | null;
  fillTo: number | 'head' | null;
  maxPerClass: number | null;
  imb: number;
  size: number;
  testPerClass: number;
  arch: ClassifierArch;
  epochs: number;
  steps: number | null;
  batch: number;
  lr: number;
  seed: number;
}

/** Settings as given on the command line (absent = not given). */
export type GivenClassifySettings = { [K in ClassifySettingKey]?: NonNullable<ClassifyRunSettings[K]> };

/** Default balanced test images per class of the shapes datasets. */
export const DEFAULT_TEST_PER_CLASS = 100;

/** Imbalance factor of the *-lt datasets when --imb is not given (src/data/registry.ts). */
const DEFAULT_IMB = 0.01;

/** The resolved settings of a new run whose training images are `size` pixels. */
export function resolveClassifySettings(o: GivenClassifySettings, size: number): ClassifyRunSettings {
  if (o.dataset === undefined) throw new CbdmError('--dataset <name> is required');
  const arch = o.arch ?? 'resnet32';
  const recipe = defaultRecipe(arch);
  return {
    dataset: o.dataset, root: o.root !== undefined ? resolve(o.root) : null,
    augmentWith: o.augmentWith !== undefined ? resolve(o.augmentWith) : null, fillTo: o.fillTo ?? null,
    maxPerClass: o.maxPerClass ?? null, imb: o.imb ?? DEFAULT_IMB, size, testPerClass: o.testPerClass ?? DEFAULT_TEST_PER_CLASS,
    arch, epochs: o.epochs ?? recipe.epochs, steps: o.steps ?? null, batch: o.batch ?? recipe.batchSize, lr: o.lr ?? recipe.lr, seed: o.seed ?? recipe.seed,
  };
}

const show = (v: unknown) => (v === null ? '(not given)' : String(v));

/**
 * The settings of a resumed run: the saved ones, checked against the flags given with --resume.
 * A flag whose value differs is a one-line error naming it (a path compares as an absolute path).
 */
export function resumedSettings(saved: ClassifyRunSettings, given: GivenClassifySettings, ckptPath: string): ClassifyRunSettings {
  for (const key of Object.keys(CLASSIFY_SETTING_FLAGS) as ClassifySettingKey[]) {
    const raw = given[key];
    if (raw === undefined) continue;
    const value = key === 'root' || key === 'augmentWith' ? resolve(String(raw)) : raw;
    if (value !== saved[key]) {
      const flag = CLASSIFY_SETTING_FLAGS[key];
      throw new CbdmError(`--resume: ${flag} ${String(raw)} differs from the run's ${flag} ${show(saved[key])} (${ckptPath}); leave ${flag} out to continue the run, or start a new one in another --out`);
    }
  }
  return saved;
}

/** The saved settings of a checkpoint, checked to be a complete record. */
export function savedClassifySettings(raw: Record<string, unknown>, ckptPath: string): ClassifyRunSettings {
  const s = raw as unknown as ClassifyRunSettings;
  const bad = (Object.keys(CLASSIFY_SETTING_FLAGS) as ClassifySettingKey[]).filter((k) => !(k in raw));
  if (bad.length > 0 || typeof s.dataset !== 'string' || !CLASSIFIER_ARCHS.includes(s.arch)) {
    throw new CbdmError(`${ckptPath} holds no complete classify settings (missing ${bad.length > 0 ? bad.join(', ') : 'dataset or arch'}); was it written by cbdm classify --out? Start a new run in another --out`);
  }
  return s;
}

/** Steps between checkpoints for an interval of `epochs` epochs of `perEpoch` steps. */
export function checkpointSteps(epochs: number, perEpoch: number): number {
  return Math.max(1, Math.round(epochs * perEpoch));
}

/** A classify folder opened for writing. */
export interface OpenedClassifyFolder {
  dir: string;
  checkpoint: string;
  result: string;
  /** Release the lock; remove DIR again when this call created it and left nothing in it. */
  close(): void;
}

/**
 * Open `dir` for a classify run: create it, take its lock (one writer at a time), remove temp
 * files a killed writer left; without --resume, refuse a folder that holds a run already, with
 * --resume one that has no checkpoint yet.
 */
export function openClassifyFolder(dir: string, resume: boolean, log: (line: string) => void): OpenedClassifyFolder {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new CbdmError(`--out ${dir} is a file, not a directory; give the folder of the classify run`);
  const created = !existsSync(dir);
  // Non-recursive when the parent exists: a recursive mkdir reports a read-only disk as ENOENT.
  if (created) mkdirSync(dir, { recursive: !existsSync(dirname(dir)) });
  const release = acquireRunLock(dir);
  const close = () => {
    release();
    if (created) try { rmdirSync(dir); } catch { /* not empty: the run wrote into it */ }
  };
  try {
    const temps = removeOrphanTemps(dir);
    if (temps > 0) log(`cbdm: note: removed ${temps} temp file(s) left in ${dir} by a writer that was killed`);
    const checkpoint = join(dir, CLASSIFY_CHECKPOINT);
    const result = join(dir, CLASSIFY_RESULT);
    if (resume && !existsSync(checkpoint)) {
      throw new CbdmError(`--resume: ${dir} has no ${CLASSIFY_CHECKPOINT} yet (the run stopped before its first checkpoint, or it is not a classify folder); start it again without --resume`);
    }
    if (!resume && (existsSync(checkpoint) || existsSync(result))) {
      throw new CbdmError(`${dir} already holds a classify run (${existsSync(checkpoint) ? CLASSIFY_CHECKPOINT : CLASSIFY_RESULT}); use --resume to continue it or choose another --out`);
    }
    return { dir, checkpoint, result, close };
  } catch (e) {
    close();
    throw e;
  }
}
