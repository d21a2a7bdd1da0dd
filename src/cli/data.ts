/**
 * `cbdm data inspect|export`: look at a dataset (per-class counts, Many/Medium/Few) or write it
 * out as class folders of PNGs with an index of source indices.
 */
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { ImageDataset } from '../data/dataset.ts';
import { loadDataset, DATASET_NAMES, type DatasetSpec } from '../data/registry.ts';
import { CLASS_GROUPS, groupClasses, type ClassGroup } from '../data/groups.ts';
import { exportDataset } from '../data/export.ts';
import { CbdmError, systemErrorReason } from '../util/errors.ts';

/** Options shared by the data subcommands, as commander hands them over. */
export interface DataCliOptions {
  dataset: string;
  root?: string;
  split?: 'train' | 'test';
  format?: 'auto' | 'binary' | 'python';
  imb?: number;
  profile?: 'exp' | 'step';
  numpyCompat?: boolean;
  seed?: number;
  size?: number;
  maxPerClass?: number;
  strict?: boolean;
}

/** Summary printed by `data inspect`. */
export interface InspectReport {
  name: string;
  images: number;
  numClasses: number;
  size: number;
  classNames: string[];
  counts: number[];
  /** max count / min non-zero count. */
  imbalanceRatio: number;
  groups: Record<ClassGroup, { classes: number[]; images: number }>;
}

function toSpec(o: DataCliOptions): DatasetSpec {
  return { name: o.dataset, root: o.root, split: o.split, format: o.format, imb: o.imb, profile: o.profile, numpyCompat: o.numpyCompat, seed: o.seed, size: o.size, nMax: o.maxPerClass, strict: o.strict };
}

/** Per-class counts, imbalance and group split of a dataset. */
export function inspectDataset(ds: ImageDataset): InspectReport {
  const g = groupClasses(ds.counts);
  const groups = {} as InspectReport['groups'];
  for (const k of CLASS_GROUPS) groups[k] = { classes: g[k], images: g[k].reduce((a, c) => a + ds.counts[c]!, 0) };
  const nonZero = ds.counts.filter((c) => c > 0);
  return {
    name: ds.name,
    images: ds.labels.length,
    numClasses: ds.numClasses,
    size: ds.size,
    classNames: ds.classNames.slice(),
    counts: ds.counts.slice(),
    imbalanceRatio: nonZero.length ? Math.max(...nonZero) / Math.min(...nonZero) : 0,
    groups,
  };
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `value / max` × `width` characters, in eighth-block resolution. */
export function textBar(value: number, max: number, width = 40): string {
  if (!(max > 0) || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/** Human-readable inspect output: a bar chart of class counts and the group table. */
export function formatInspect(r: InspectReport): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const max = Math.max(1, ...r.counts);
  const idW = String(r.numClasses - 1).length;
  const nameW = Math.min(24, Math.max(5, ...r.classNames.map((n) => n.length)));
  const cntW = Math.max(5, fmt(max).length);
  const lines = [`${r.name}: ${fmt(r.images)} images, ${r.numClasses} classes, ${r.size}×${r.size}, imbalance ${r.imbalanceRatio.toFixed(r.imbalanceRatio >= 10 ? 0 : 2)}:1`, ''];
  r.counts.forEach((c, i) => {
    const name = r.classNames[i]!.length > nameW ? r.classNames[i]!.slice(0, nameW - 1) + '…' : r.classNames[i]!;
    lines.push(`${String(i).padStart(idW)} ${name.padEnd(nameW)} ${fmt(c).padStart(cntW)} ${textBar(c, max)}`);
  });
  lines.push('', 'group    rule        classes   images');
  const rule: Record<ClassGroup, string> = { many: '> 100', medium: '20–100', few: '< 20' };
  for (const k of CLASS_GROUPS) lines.push(`${k.padEnd(8)} ${rule[k].padEnd(10)} ${String(r.groups[k].classes.length).padStart(8)} ${fmt(r.groups[k].images).padStart(8)}`);
  return lines.join('\n');
}

/** `data inspect`: load and summarise; returns the text (or JSON) that the command prints. */
export async function runInspect(o: DataCliOptions & { json?: boolean }): Promise<string> {
  const ds = await loadDataset(toSpec(o));
  const r = inspectDataset(ds);
  return o.json ? JSON.stringify(r) : formatInspect(r);
}

/** `data export`: load and write class folders of PNGs plus index.json to `out`. */
export async function runExport(o: DataCliOptions & { out: string }): Promise<string> {
  const ds = await loadDataset(toSpec(o));
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'export {bar} {value}/{total} images | {eta}s left', stream: process.stderr }, Presets.shades_classic) : null;
  bar?.start(ds.labels.length, 0);
  let written = 0;
  try {
    exportDataset(ds, o.out, (done) => { written = done; bar?.update(done); });
  } catch (e) {
    const reason = systemErrorReason(e);
    if (reason === null) throw e;
    throw new CbdmError(`data export --out ${o.out}: ${reason} after ${written} of ${ds.labels.length} images`);
  }
  bar?.stop();
  return `wrote ${ds.labels.length.toLocaleString('en-US')} PNGs in ${ds.numClasses} class folders and index.json to ${o.out}`;
}

function parseNumber(what: string, integer: boolean) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new CbdmError(`--${what} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
    return x;
  };
}

function datasetOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--dataset <name>', `dataset: ${DATASET_NAMES.join(', ')}, or folder:PATH`)
    .option('--root <dir>', 'CIFAR: folder or .tar.gz of the download (https://www.cs.toronto.edu/~kriz/cifar.html); Fashion-MNIST: folder of the IDX .gz files (default /usr/share/datasets/fashion-mnist)')
    .addOption(new Option('--split <split>', 'CIFAR / Fashion-MNIST split').choices(['train', 'test']).default('train'))
    .addOption(new Option('--format <format>', 'CIFAR distribution to read').choices(['auto', 'binary', 'python']).default('auto'))
    .option('--imb <factor>', 'imbalance factor n_min/n_max for *-lt datasets (default 0.01; folders: make a long-tailed subset)', parseNumber('imb', false))
    .addOption(new Option('--profile <profile>', 'long-tail profile').choices(['exp', 'step']).default('exp'))
    .option('--numpy-compat', 'select CIFAR-LT images exactly as the published code (NumPy legacy MT19937, seed 0)', false)
    .option('--seed <n>', 'seed of the subset selection / shapes generator', parseNumber('seed', true), 0)
    .addOption(new Option('--image-size <px>', 'image size (shapes: 16 or 32; Fashion-MNIST: 32 = 28 padded with black, 16 = bilinear resize; folders: any; CIFAR: 32)').argParser(parseNumber('image-size', true)))
    .addOption(new Option('--size <px>', 'the same as --image-size').argParser(parseNumber('size', true)).hideHelp())
    .option('--max-per-class <n>', 'fashion-mnist-lt / shapes: images of the head class (default 500)', parseNumber('max-per-class', true))
    .option('--strict', 'folders: fail on unreadable images instead of skipping them', false);
}

/** Register `cbdm data`. */
export function register(program: Command): void {
  const data = program.command('data').description('inspect or export datasets (embedded shapes, CIFAR-10/100(-LT), Fashion-MNIST(-LT), image folders)');
  datasetOptions(data.command('inspect').description('per-class counts with a bar chart and the Many/Medium/Few split'))
    .option('--json', 'print machine-readable JSON', false)
    .action(async (o: DataCliOptions & { json?: boolean }) => {
      console.log(await runInspect(o));
    });
  datasetOptions(data.command('export').description('write class folders of PNGs plus index.json (source index of every image)'))
    .requiredOption('--out <dir>', 'output folder')
    .action(async (o: DataCliOptions & { out: string }) => {
      console.log(await runExport(o));
    });
}
