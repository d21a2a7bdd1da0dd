/**
 * `cbdm eval`: sample quality against reference statistics (docs/DESIGN.md §1.7).
 *   cbdm eval stats --dataset NAME [--root DIR] --out ref.npz   train-split mu/sigma (+ features)
 *   cbdm eval fid A.npz B.npz                                      FID between two stats files
 *   cbdm eval --samples S.npz --ref ref.npz [--per-class] [--counts F | --run DIR] [--json]
 *   cbdm eval --run DIR --protocol cbdm|fast|ddim50|FILE.json --ref ref.npz [--tune-ref train.npz]
 *                                                                  sample the run under a protocol, then evaluate
 * The flags and the printed report; the evaluation itself is src/metrics/evaluate*.ts.
 */
import { Command, Option } from 'commander';
import { CLASS_GROUPS } from '../data/groups.ts';
import type { FeatureExtractor } from '../metrics/features.ts';
import { writeEvalJson } from '../report/run-dir.ts';
import type { EvalResult } from '../metrics/eval-result.ts';
import { CbdmError } from '../util/errors.ts';
import { SAMPLER_NAMES } from '../diffusion/samplers.ts';
import { posInt as int, num } from './parse.ts';
import type { EvalReport } from '../metrics/evaluate.ts';
import { evaluateSamples, fidOfFiles, writeReferenceStats, type EvaluateSamplesOptions, type ReferenceStatsOptions } from '../metrics/evaluate-files.ts';
import { isDomainFeatures } from '../report/metric-info.ts';
import { describeProtocol, loadProtocol } from '../metrics/protocol.ts';
import { evaluateRunUnderProtocol, type RunEvalOptions } from '../metrics/evaluate-run.ts';
import { PROTOCOL_NAMES } from '../diffusion/samplers.ts';

export { describeProtocol };

/** `cbdm eval --samples --ref`: every metric of the samples, written to the run's eval.json with --run. */
export async function runEval(o: EvaluateSamplesOptions, extractor?: FeatureExtractor): Promise<EvalReport> {
  const report = await evaluateSamples(o, extractor);
  if (o.run) writeEvalJson(o.run, stripNotes(report));
  return report;
}

/** `cbdm eval --run DIR --protocol P --ref R`: sample and evaluate the run under the protocol; eval.json records it. */
async function runProtocolEval(o: EvaluateSamplesOptions & { protocol?: string; tuneRef?: string; sampleBatch: number }, cmd: Command): Promise<EvalReport> {
  if (o.run === undefined) throw new CbdmError('--protocol evaluates a run: give --run DIR (its EMA model is sampled as the protocol says)');
  if (o.samples !== undefined) throw new CbdmError('--protocol samples the run itself: leave out --samples (or leave out --protocol to measure a samples file)');
  if (o.ref === undefined) throw new CbdmError('--protocol needs --ref FILE: statistics of the split the protocol names (cbdm eval stats)');
  for (const flag of ['sampler', 'steps', 'omega', 'extractor', 'counts'] as const) {
    if (cmd.getOptionValueSource(flag) === 'cli') throw new CbdmError(`--${flag} conflicts with --protocol, which fixes it; write a protocol file with the value you want (docs/SAMPLING.md)`);
  }
  const spec = loadProtocol(o.protocol!);
  let last = '';
  const opts: RunEvalOptions = {
    run: o.run, spec, specSource: spec.name === o.protocol ? `built-in ${spec.name}` : o.protocol!, ref: o.ref, tuneRef: o.tuneRef, perClass: o.perClass,
    inception: o.inception, batch: o.batch, sampleBatch: o.sampleBatch, k: o.k, kidSubsets: o.kidSubsets, isSplits: o.isSplits, metricsGemm: o.metricsGemm,
    featurePrecision: o.featurePrecision, quiet: o.quiet,
    onSample: (_done, total, what) => {
      if (what !== last && !o.quiet) console.error(`cbdm eval: ${what} (${total} images)`);
      last = what;
    },
  };
  const report = await evaluateRunUnderProtocol(opts);
  writeEvalJson(o.run, stripNotes(report));
  return report;
}

function stripNotes(r: EvalReport): EvalResult {
  const { notes: _n, ...rest } = r;
  return rest;
}

const fmt = (v: number | string | null | undefined, digits = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : v === undefined || v === null ? '—' : String(v));

/** The human-readable report: protocol line, overall, groups and (optionally) per-class tables. */
export function formatReport(r: EvalReport): string {
  const keys = [...new Set([r.overall, ...Object.values(r.groups), ...r.perClass].flatMap((m) => Object.keys(m).filter((k) => !['class', 'name', 'count', 'group'].includes(k))))];
  const row = (label: string, m: Record<string, unknown>) => `${label.padEnd(22)}${keys.map((k) => fmt(m[k] as number | null, k === 'fid' || k === 'is' ? 2 : 4).padStart(12)).join('')}`;
  // FID/KID in the shapes classifier's features are domain-FID/KID, not comparable to Inception FIDs
  const domain = isDomainFeatures(r.protocol.featureExtractor);
  const head = (k: string) => (domain && (k === 'fid' || k === 'kid') ? `domain-${k.toUpperCase()}` : k.toUpperCase());
  const lines = [describeProtocol(r.protocol), '', `${''.padEnd(22)}${keys.map((k) => head(k).padStart(12)).join('')}`, row('overall', r.overall)];
  if (r.perClass.length) {
    for (const g of CLASS_GROUPS) {
      const n = r.perClass.filter((c) => c.group === g).length;
      if (n) lines.push(row(`${g} (${n} classes)`, r.groups[g]));
    }
    lines.push('', 'class        group  train');
    for (const c of r.perClass) lines.push(row(`${`${c.class} ${c.name}`.slice(0, 12).padEnd(13)}${c.group.padEnd(6)}${String(c.count).padStart(3)}`, c));
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

const extractorOption = () => new Option('--extractor <kind>', 'feature network: inception (FID Inception-v3; greyscale images repeated to RGB) or domain (the dataset\'s own classifier: shapes, or the Fashion-MNIST evaluator for greyscale images)').choices(['inception', 'domain']).default('inception');
const featurePrecisionOption = () => new Option('--feature-precision <p>', 'precision of the feature network\'s convolutions: fp32 (the published protocol) or bf16 (AVX512-BF16 CPUs: ≈ 1.45× faster Inception; FID moves by the amount in bench/RESULTS.md — use the same for the reference stats)').choices(['fp32', 'bf16']).default('fp32');
const inceptionOption = () => new Option('--inception <file>', 'FID Inception weights pt_inception-2015-12-05-6726825d.pth (default: $CBDM_INCEPTION, else that file in $CBDM_CACHE or ~/.cache/cbdm/)');

/**
 * A subcommand's options with the values its parent `eval` parsed from the command line: the
 * parent has the same flags (--extractor, --batch, --json, …) and, without positional options on
 * the root program, commander hands flags after `eval stats` to the parent.
 */
function subcommandOpts<T>(cmd: Command): T {
  const local = { ...cmd.opts() };
  const parent = cmd.parent;
  if (parent) for (const [k, v] of Object.entries(parent.opts())) if (parent.getOptionValueSource(k) === 'cli') local[k] = v;
  return local as T;
}

export function register(program: Command): void {
  const ev = program.command('eval')
    .description('FID / IS / KID / precision / recall of samples against reference statistics, overall, per class and per Many/Medium/Few group')
    .option('--samples <file>', 'samples .npz: x N×3×H×W (or N×1×H×W greyscale) float32 in [0, 1] (or uint8), y N labels, optional meta; or guided-diffusion\'s .npz (arr_0 N×H×W×3 uint8, arr_1 labels); or the published code\'s …_samples_….npy beside its …_labels_….npy')
    .option('--ref <file>', 'reference statistics .npz from `cbdm eval stats` (or pytorch-fid\'s mu/sigma)')
    .option('--per-class', 'also report every class and the Many/Medium/Few groups (needs ref features)')
    .option('--counts <file>', 'per-class training counts (JSON array or {counts, classNames}) for the groups')
    .option('--run <dir>', 'run directory: counts from its data.json, results written to its eval.json')
    .option('--json', 'print machine-readable JSON')
    .addOption(extractorOption())
    .addOption(inceptionOption())
    .option('--batch <n>', 'images per forward pass', int, 50)
    .addOption(new Option('--sampler <name>', 'protocol: sampler used (overrides the samples metadata)').choices([...SAMPLER_NAMES]))
    .option('--steps <n>', 'protocol: sampling steps (overrides the samples metadata)', int)
    .option('--omega <w>', 'protocol: guidance scale ω (overrides the samples metadata)', num)
    .option('--k <n>', 'neighbourhood size of precision/recall (5 as CBDM; 3 in the original paper)', int, 5)
    .addOption(featurePrecisionOption())
    .option('--kid-subsets <n>', 'KID subsets of 1000 (0 skips KID, which is slow on big sets)', (v: string) => (v === '0' ? 0 : int(v)), 100)
    .option('--is-splits <n>', 'Inception Score splits', int, 10)
    .addOption(new Option('--metrics-gemm <where>', 'KID and precision/recall products: on the compute backend (float32, fast) or in float64 TypeScript').choices(['backend', 'js']).default('backend'))
    .option('--protocol <p>', `evaluate the --run itself under a protocol: sample its EMA model as the protocol says (sampler, steps, ω policy, labels, samples per class, seed), then measure against --ref (whose split the protocol names) with the protocol's feature network; stored verbatim in eval.json. Built-in: ${PROTOCOL_NAMES.join(', ')}; or a .json file (docs/SAMPLING.md)`)
    .option('--tune-ref <file>', 'with a protocol whose ω policy is tuned: training-split statistics the ω grid is scored against (default: --ref when it holds the training split)')
    .option('--sample-batch <n>', 'with --protocol: images per sampling batch', int, 64)
    .option('--quiet', 'no progress bar')
    .action(async (o: EvaluateSamplesOptions & { protocol?: string; tuneRef?: string; sampleBatch: number }, cmd: Command) => {
      if (o.protocol !== undefined) {
        const r = await runProtocolEval(o, cmd);
        console.log(o.json ? JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) : formatReport(r));
        return;
      }
      if (o.tuneRef !== undefined) throw new CbdmError('--tune-ref applies with --protocol only');
      if (!o.samples || !o.ref) throw new CbdmError('cbdm eval needs --samples FILE and --ref FILE, or --run DIR --protocol P --ref FILE (or a subcommand: stats, fid); see cbdm eval --help');
      const r = await runEval(o);
      console.log(o.json ? JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) : formatReport(r));
    });
  ev.command('stats')
    .description('reference statistics (mu, sigma float64; features and labels for P&R / per-class) of a dataset split')
    .requiredOption('--dataset <name>', 'dataset name (shapes10-lt, cifar100-lt, …, folder:PATH)')
    .option('--root <dir>', 'dataset download folder (CIFAR; Fashion-MNIST default /usr/share/datasets/fashion-mnist)')
    .addOption(new Option('--split <split>', 'dataset split').choices(['train', 'test']).default('train'))
    .addOption(new Option('--image-size <px>', 'image size for shapes / Fashion-MNIST / folder datasets (the model\'s size; default 32)').argParser(int))
    .addOption(new Option('--size <px>', 'the same as --image-size').argParser(int).hideHelp())
    .requiredOption('--out <file>', 'output .npz')
    .addOption(extractorOption())
    .addOption(inceptionOption())
    .option('--batch <n>', 'images per forward pass', int, 50)
    .option('--no-features', 'store only mu and sigma (no precision/recall, KID or per-class metrics)')
    .addOption(featurePrecisionOption())
    .option('--quiet', 'no progress bar')
    .action(async (_o: unknown, cmd: Command) => {
      const r = await writeReferenceStats(subcommandOpts<ReferenceStatsOptions>(cmd));
      console.log(`wrote ${r.out}: ${r.n} images, ${r.d}-d features`);
    });
  ev.command('fid')
    .description('FID between two statistics files (like pytorch-fid with two .npz files)')
    .argument('<a>', 'first .npz with mu, sigma')
    .argument('<b>', 'second .npz with mu, sigma')
    .option('--json', 'print machine-readable JSON')
    .action((a: string, b: string, _o: unknown, cmd: Command) => {
      const r = fidOfFiles(a, b);
      if (subcommandOpts<{ json?: boolean }>(cmd).json) console.log(JSON.stringify({ fid: r.fid, regularised: r.regularised, singular: r.singular, notes: r.notes }));
      else {
        console.log(`FID: ${r.fid}`);
        for (const n of r.notes) console.error(`note: ${n}`);
      }
    });
}
