/**
 * `cbdm report --runs RUN_A RUN_B ... --out report.html`: read run directories
 * (docs/RUN_DIR.md) and write one self-contained HTML report comparing them.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { CbdmError } from '../util/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readRunDir } from '../report/run-dir.ts';
import { renderReport } from '../report/html.ts';
import { readSamplerStudy } from '../report/sampler-study.ts';
import { samplerPageBeside } from '../report/sampler-html.ts';
import { summariseSeeds, type SettingSummary } from '../report/seed-summary.ts';

/** Options of `cbdm report` as commander hands them over. */
export interface ReportCliOptions {
  runs: string[];
  out: string;
  title?: string;
  note?: string;
  noteFile?: string;
  labels?: string;
  smooth?: number;
  samplerStudy?: string;
  json?: boolean;
  /** false with --no-sampler-page. */
  samplerPage?: boolean;
}

/** What `cbdm report --json` prints. */
export interface ReportCliResult {
  out: string;
  bytes: number;
  runs: string[];
  /** Runs grouped into settings (equal but for the seed) with mean ± sd of their metrics. */
  settings: SettingSummary[];
  warnings: string[];
  /** sampler.html written beside the report (runs with EMA weights that fit inline), else null. */
  sampler: string | null;
}

/** Read the runs, render, write atomically; returns the written path and size. */
export async function runReport(o: ReportCliOptions): Promise<ReportCliResult> {
  if (!o.runs || o.runs.length === 0) throw new CbdmError('--runs needs at least one run directory');
  const runs = [];
  for (const dir of o.runs) runs.push(await readRunDir(dir));
  let note = o.note;
  if (o.noteFile) {
    try {
      note = [note, readFileSync(o.noteFile, 'utf8')].filter(Boolean).join('\n\n');
    } catch {
      throw new CbdmError(`cannot read --note-file ${o.noteFile}`);
    }
  }
  const labels = o.labels ? o.labels.split(',').map((s) => s.trim()) : undefined;
  if (labels && labels.length !== runs.length) throw new CbdmError(`--labels has ${labels.length} names for ${runs.length} runs; give one per run, comma-separated`);
  const samplerStudy = o.samplerStudy ? readSamplerStudy(o.samplerStudy) : undefined;
  const out = resolve(o.out);
  // the sampler page is rendered first, so that the report links it only when it is written beside it
  const sampler = o.samplerPage === false ? { path: null, note: null } : await samplerPageBeside(out, o.runs, labels);
  const html = renderReport(runs, { title: o.title, note, labels, smooth: o.smooth, samplerStudy, ...(sampler.path ? { samplerPage: basename(sampler.path) } : {}) });
  writeFileAtomic(out, html);
  if (sampler.path) writeFileAtomic(sampler.path, sampler.html);
  const warnings = runs.flatMap((r) => r.warnings.map((w) => `${r.dir}: ${w}`));
  if (sampler.path === null && sampler.note) warnings.push(sampler.note);
  return { out, bytes: Buffer.byteLength(html), runs: o.runs, settings: summariseSeeds(runs), warnings, sampler: sampler.path };
}

function parseSmooth(v: string): number {
  const x = Number(v);
  if (!(v.trim() !== '' && x >= 0 && x < 1)) throw new CbdmError(`--smooth must be a number in [0, 1), got "${v}"`);
  return x;
}

/** Register `cbdm report`. */
export function register(program: Command): void {
  program.command('report')
    .description('write a self-contained HTML report comparing run directories (samples per class, Many/Medium/Few, mean ± sd over seeds, curves)')
    .requiredOption('--runs <dirs...>', 'run directories to compare, e.g. runs/ddpm runs/cbdm (first one defines class order)')
    .option('--out <file>', 'HTML file to write', 'report.html')
    .option('--title <text>', 'page title (default: "CBDM report: <dataset>")')
    .option('--note <text>', 'findings in your words, e.g. "CBDM did not beat DDPM on Few at this budget"')
    .option('--sampler-study <file>', 'chart a sampler study (the JSON of scripts/nfe-study.ts, e.g. assets/demo/nfe-study.json) against NFE')
    .option('--note-file <file>', 'read the findings note from a text file (blank lines separate paragraphs)')
    .option('--labels <a,b,...>', 'display names of the runs, comma-separated (default: method, e.g. DDPM, CBDM)')
    .option('--smooth <f>', 'EMA factor for loss curves, 0 = raw', parseSmooth, 0.9)
    .option('--no-sampler-page', 'do not write sampler.html (the in-browser sampler, for runs whose EMA weights fit in 16 MiB) beside the report')
    .option('--json', 'print machine-readable JSON (with each setting\'s mean ± sd over seeds)', false)
    .action(async (o: ReportCliOptions) => {
      const r = await runReport(o);
      for (const w of r.warnings) console.error(`cbdm: warning: ${w}`);
      console.log(o.json ? JSON.stringify(r) : [r.out, ...(r.sampler ? [r.sampler] : [])].join('\n'));
    });
}
