/**
 * The report: one self-contained HTML file comparing runs (e.g. DDPM | CBDM) on one long-tailed
 * dataset — data histogram, per-class sample grids head → tail, nearest training images of tail
 * samples, per-class metric bars, the Many/Medium/Few table, loss curves, and each run's exact
 * config and evaluation protocol. Images are data URLs and Chart.js is inlined: it opens offline.
 */
import { basename, resolve } from 'node:path';
import { CLASS_GROUPS, classGroup, groupClasses, type ClassGroup } from '../data/groups.ts';
import { CLIENT_JS, REPORT_CSS, jsonForScript, loadChartJs, scriptSafe } from './assets.ts';
import { samplerStudyChart, type SamplerStudy } from './sampler-study.ts';
import { GROUP_LABELS, headToTail, histogramChart, lossChart, lossTermsChart, perClassMetricChart, runColour, type ChartSpec } from './charts.ts';
import { bestIndices, formatMetric, isDomainFeatures, LEVEL_TOLERANCE, metricInfo, metricKeys, metricLabel, metricLegend } from './metric-info.ts';
import type { EvalProtocol, MetricValues, RunData, RunImage } from './run-dir-types.ts';
import { CM_APPROXIMATE } from '../train/cm.ts';
import { describeOmegaPolicy, describeProtocol, protocolDifferences } from '../metrics/protocol.ts';
import { methodLabel, summariseSeeds, SUMMARY_ROWS, type SeedStat, type SettingSummary, type SummaryRow } from './seed-summary.ts';
import { upperMedian } from '../util/median.ts';

/** How to render the report. */
export interface ReportOptions {
  /** Page title (default "CBDM report: <dataset>"). */
  title?: string;
  /** The "honest results" note: what the numbers do and do not show, in the author's words. */
  note?: string;
  /** One display label per run (default: method in capitals, made unique with the folder name). */
  labels?: string[];
  /** EMA factor for loss curves, 0 = raw (default 0.9). */
  smooth?: number;
  /** Time shown as "generated" (default now). */
  generatedAt?: Date;
  /** Chart.js UMD source to inline (default: read from node_modules). */
  chartJs?: string;
  /** A sampler study (scripts/nfe-study.ts) to chart against NFE, for the runs it names. */
  samplerStudy?: SamplerStudy;
  /** Link (relative to the report) of the interactive sampler page written beside it, if one was. */
  samplerPage?: string;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const esc = escapeHtml;

/** Display labels of runs: given ones, else METHOD (+CORAL), disambiguated by directory name. */
export function runLabels(runs: readonly RunData[], given?: readonly string[]): string[] {
  if (given && given.length > 0) {
    if (given.length !== runs.length) throw new Error(`runLabels: ${given.length} labels for ${runs.length} runs`);
    return given.slice();
  }
  const base = runs.map(methodLabel);
  return base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${b} (${basename(resolve(runs[i]!.dir))})` : b));
}

/** An embedded PNG; CSS scales it to its cell with crisp (pixelated) upscaling. */
function imgTag(im: RunImage, alt: string): string {
  const b64 = Buffer.from(im.png.buffer, im.png.byteOffset, im.png.byteLength).toString('base64');
  return `<img src="data:image/png;base64,${b64}" width="${im.width}" height="${im.height}" alt="${esc(alt)}">`;
}

function badge(g: ClassGroup): string {
  return `<span class="badge ${g}">${g}</span>`;
}

function section(id: string, title: string, lead: string, body: string, cls = ''): string {
  return `<section id="${id}"${cls ? ` class="${cls}"` : ''}><h2>${esc(title)}</h2>${lead ? `<p class="lead">${lead}</p>` : ''}${body}</section>\n`;
}

function canvas(id: string, cls = 'chart'): string {
  return `<div class="${cls}"><canvas id="${id}" role="img" aria-label="${esc(id)}"></canvas></div>`;
}

function runSwatch(i: number, label: string): string {
  return `<span class="swatch" style="background:${runColour(i)}"></span>${esc(label)}`;
}

function median(xs: number[]): number | null {
  return xs.length === 0 ? null : upperMedian(xs);
}

function summarySection(runs: readonly RunData[], labels: readonly string[]): string {
  const rows = runs.map((r, i) => {
    const t = r.config.train;
    const last = r.metrics[r.metrics.length - 1];
    const ips = median(r.metrics.map((m) => m.img_per_s).filter((v): v is number => typeof v === 'number'));
    const cells = [
      `<td class="txt">${runSwatch(i, labels[i]!)}</td>`,
      `<td class="txt">${esc(String(t.method))}${t.method === 'cm' ? ` (${esc(CM_APPROXIMATE)})` : ''}${t.preset ? ` · ${esc(String(t.preset))}` : ''}</td>`,
      `<td>${last ? last.step.toLocaleString('en-US') : '—'}${t.steps ? ` / ${t.steps.toLocaleString('en-US')}` : ''}</td>`,
      `<td>${t.batch ?? '—'}</td>`,
      `<td>${t.lr ?? '—'}</td>`,
      `<td>${last ? last.loss.toFixed(4) : '—'}</td>`,
      `<td>${ips !== null ? ips.toFixed(1) : '—'}</td>`,
      `<td>${last?.wall_s !== undefined ? `${(last.wall_s / 60).toFixed(1)} min` : '—'}</td>`,
      `<td class="txt wrap">${r.eval ? esc(describeProtocol(r.eval.protocol)) : '<span class="muted">not evaluated</span>'}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  const warnings: string[] = [];
  const notes: string[] = [];
  const d0 = runs[0]!.data;
  runs.forEach((r, i) => {
    if (r.data.name !== d0.name || JSON.stringify(r.data.counts) !== JSON.stringify(d0.counts)) warnings.push(`${labels[i]} was trained on ${r.data.name} with different class counts than ${labels[0]} (${d0.name}); the comparison is not like for like.`);
    for (const w of r.warnings) warnings.push(`${labels[i]}: ${w}`);
  });
  warnings.push(...protocolWarnings(runs, labels));
  const evaluated = runs.map((r, i) => ({ p: r.eval?.protocol, label: labels[i]! })).filter((x): x is { p: EvalProtocol; label: string } => x.p !== undefined);
  if (evaluated.length > 1 && warnings.length === 0 && new Set(evaluated.map((x) => x.p.omega)).size > 1) {
    const policy = evaluated[0]!.p.spec ? describeOmegaPolicy(evaluated[0]!.p.spec.omega) : 'each run\'s own ω (its --omega-eval)';
    notes.push(`Each run is sampled with its own guidance scale (${evaluated.map((x) => `${x.label} ω ${x.p.omega}`).join(', ')}) under one ω policy: ${policy}; everything else in the protocol is the same.`);
  }
  const head = '<tr><th class="txt">Run</th><th class="txt">Method</th><th>Steps</th><th>Batch</th><th>LR</th><th>Last loss</th><th>img/s</th><th>Train time</th><th class="txt">Evaluation</th></tr>';
  const C = d0.classNames.length;
  const n = d0.counts.reduce((a, b) => a + b, 0);
  const nz = d0.counts.filter((c) => c > 0);
  const lead = `Dataset <b>${esc(d0.name)}</b>: ${C} classes, ${n.toLocaleString('en-US')} training images, ${Math.max(...d0.counts)} → ${nz.length ? Math.min(...nz) : 0} per class${d0.size ? `, ${d0.size}×${d0.size} px` : ''}.`;
  return section('summary', 'Runs', lead, `<div class="scroll"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>${warnings.map((w) => `<div class="warn">${esc(w)}</div>`).join('')}${notes.map((n) => `<p class="muted">${esc(n)}</p>`).join('')}`);
}

/**
 * Warnings for runs evaluated under protocols that differ in anything but each run's resolved ω
 * (protocolDifferences): one per run that differs from the first evaluated run, naming the fields.
 */
export function protocolWarnings(runs: readonly RunData[], labels: readonly string[]): string[] {
  const ev = runs.map((r, i) => ({ p: r.eval?.protocol, label: labels[i]! })).filter((x): x is { p: EvalProtocol; label: string } => x.p !== undefined);
  const out: string[] = [];
  for (const x of ev.slice(1)) {
    const diff = protocolDifferences(ev[0]!.p, x.p);
    if (diff.length) out.push(`${x.label} was evaluated under another protocol than ${ev[0]!.label}, so their metrics are not directly comparable: ${diff.slice(0, 6).join('; ')}${diff.length > 6 ? `; and ${diff.length - 6} more fields` : ''}.`);
  }
  return out;
}

function noteSection(note: string | undefined): string {
  const body = note && note.trim()
    ? note.trim().split(/\n\s*\n/).map((p) => `<p>${esc(p)}</p>`).join('')
    : '<p class="muted">No findings note was supplied (cbdm report --note "…"). Read the numbers below with their protocol and training budget in mind.</p>';
  return section('findings', 'Findings', '', body, 'note');
}

/** Many/Medium/Few table: rows = groups, per metric one column per run; best per row and metric in bold. */
export function groupTable(runs: readonly RunData[], labels: readonly string[], counts: readonly number[]): string {
  const evald = runs.map((r, i) => ({ r, i })).filter((x) => x.r.eval);
  if (evald.length === 0) return '<p class="muted">No run has an eval.json yet (cbdm eval).</p>';
  const keys = metricKeys(evald.flatMap((x) => [x.r.eval!.overall, ...CLASS_GROUPS.map((g) => x.r.eval!.groups[g] ?? {})]));
  if (keys.length === 0) return '<p class="muted">eval.json holds no metric values.</p>';
  const members = groupClasses(counts);
  const R = evald.length;
  const domain = domainFeatures(runs);
  const h1 = `<tr><th rowspan="2">Group</th><th rowspan="2">Classes</th>${keys.map((k) => `<th colspan="${R}" title="${esc(metricInfo(k)?.help ?? k)}" style="text-align:center">${esc(metricLabel(k, domain))}</th>`).join('')}</tr>`;
  const h2 = `<tr>${keys.map(() => evald.map((x) => `<th>${esc(labels[x.i]!)}</th>`).join('')).join('')}</tr>`;
  const cells = (vals: MetricValues[]): string => keys.map((k) => {
    const vs = vals.map((v) => v[k]);
    const best = bestIndices(k, vs);
    return vs.map((v, j) => `<td${best.includes(j) ? ' class="best"' : ''}>${formatMetric(k, v)}</td>`).join('');
  }).join('');
  const body = CLASS_GROUPS.map((g) => {
    const cs = members[g].map((c) => counts[c]!);
    const range = cs.length ? `${cs.length} · ${Math.max(...cs)}–${Math.min(...cs)} img` : '0';
    return `<tr><td>${badge(g)} ${esc(GROUP_LABELS[g])}</td><td>${range}</td>${cells(evald.map((x) => x.r.eval!.groups[g] ?? {}))}</tr>`;
  }).join('');
  const foot = `<tr><td><b>All classes</b></td><td>${counts.length}</td>${cells(evald.map((x) => x.r.eval!.overall))}</tr>`;
  return `<div class="scroll"><table id="groups-table"><thead>${h1}${h2}</thead><tbody>${body}</tbody><tfoot>${foot}</tfoot></table></div>${legend(keys, domain)}`;
}

/**
 * Settings whose mean is best for a metric and clear of every other setting: |Δmean| > sd_a + sd_b
 * for each other one (needs ≥ 2 seeds everywhere; otherwise nothing is bolded — one seed cannot
 * separate methods).
 */
function clearBest(key: string, cells: readonly (SeedStat | undefined)[]): number[] {
  const present = cells.map((c, i) => [c, i] as const).filter((p): p is readonly [SeedStat, number] => p[0] !== undefined);
  if (present.length < 2 || present.some(([c]) => c.sd === null)) return [];
  const best = bestIndices(key, cells.map((c) => c?.mean), 0);
  if (best.length !== 1) return [];
  const b = cells[best[0]!]!;
  return present.every(([c, i]) => i === best[0] || Math.abs(c.mean - b.mean) > b.sd! + c.sd!) ? best : [];
}

/** Mean ± sd over seeds: rows = groups and all classes, per metric one column per setting. */
export function seedTable(settings: readonly SettingSummary[], counts: readonly number[], domain: boolean): string {
  const evald = settings.filter((s) => s.evaluated > 0);
  if (evald.length === 0) return '<p class="muted">No run has an eval.json yet (cbdm eval).</p>';
  const keys = metricKeys(evald.flatMap((s) => SUMMARY_ROWS.map((r) => Object.fromEntries(Object.entries(s.stats[r]).map(([k, v]) => [k, v.mean])))));
  const members = groupClasses(counts);
  const S = evald.length;
  const h1 = `<tr><th rowspan="2">Group</th><th rowspan="2">Classes</th>${keys.map((k) => `<th colspan="${S}" title="${esc(metricInfo(k)?.help ?? k)}" style="text-align:center">${esc(metricLabel(k, domain))}</th>`).join('')}</tr>`;
  const h2 = `<tr>${keys.map(() => evald.map((s) => `<th>${esc(s.label)} <span class="muted">n=${s.evaluated}</span></th>`).join('')).join('')}</tr>`;
  const fmt = (k: string, c: SeedStat | undefined) => (c === undefined ? '—' : `${formatMetric(k, c.mean)}${c.sd !== null ? ` ± ${formatMetric(k, c.sd)}` : ''}${c.n < Math.max(...evald.map((s) => s.evaluated)) ? ` <span class="muted">(n=${c.n})</span>` : ''}`);
  const row = (r: SummaryRow) => keys.map((k) => {
    const cells = evald.map((s) => s.stats[r][k]);
    const best = clearBest(k, cells);
    return cells.map((c, j) => `<td${best.includes(j) ? ' class="best"' : ''}>${fmt(k, c)}</td>`).join('');
  }).join('');
  const body = CLASS_GROUPS.map((g) => {
    const cs = members[g].map((c) => counts[c]!);
    return `<tr><td>${badge(g)} ${esc(GROUP_LABELS[g])}</td><td>${cs.length ? `${cs.length} · ${Math.max(...cs)}–${Math.min(...cs)} img` : '0'}</td>${row(g)}</tr>`;
  }).join('');
  const foot = `<tr><td><b>All classes</b></td><td>${counts.length}</td>${row('all')}</tr>`;
  const list = `<ul class="legend">${settings.map((s) => `<li><b>${esc(s.label)}</b>: ${s.runs.length} run${s.runs.length > 1 ? 's' : ''} (seed${s.runs.length > 1 ? 's' : ''} ${s.seeds.map((x) => (x === null ? '?' : String(x))).join(', ')}; ${s.evaluated} evaluated) — ${s.runs.map((d) => `<code>${esc(d)}</code>`).join(', ')}</li>`).join('')}</ul>`;
  return `<div class="scroll"><table id="seeds-table"><thead>${h1}${h2}</thead><tbody>${body}</tbody><tfoot>${foot}</tfoot></table></div>${list}${legend(keys, domain)}`;
}

/** Do all evaluated runs measure in the shapes domain classifier's features (domain-FID)? */
function domainFeatures(runs: readonly RunData[]): boolean {
  const ev = runs.filter((r) => r.eval);
  return ev.length > 0 && ev.every((r) => isDomainFeatures(r.eval!.protocol.featureExtractor));
}

/** One line per metric: label with its better direction, and what it means. */
function legend(keys: readonly string[], domain: boolean): string {
  const lines = metricLegend(keys, domain);
  return lines.length ? `<ul class="legend">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : '';
}

/** Class cards head → tail, each holding one image per run side by side (DDPM | CBDM). */
function comparisonGrid(runs: readonly RunData[], labels: readonly string[], classes: readonly number[], pick: (r: RunData) => (RunImage | null)[], what: string): string {
  const d = runs[0]!.data;
  const minCard = Math.min(1100, 250 * runs.length);
  const cards = classes.map((c) => {
    const n = d.counts[c]!;
    const figs = runs.map((r, i) => {
      const im = pick(r)[c];
      const body = im ? imgTag(im, `${labels[i]} ${what}, class ${d.classNames[c]}`) : `<div class="missing">no ${esc(what)}</div>`;
      return `<figure>${body}<figcaption>${runSwatch(i, labels[i]!)}</figcaption></figure>`;
    }).join('');
    return `<div class="card"><div class="card-h"><b>${esc(d.classNames[c]!)}</b><span class="muted">#${c} · ${n.toLocaleString('en-US')} train img</span>${badge(classGroup(n))}</div>`
      + `<div class="pair" style="grid-template-columns: repeat(${runs.length}, minmax(0, 1fr))">${figs}</div></div>`;
  }).join('');
  return `<div class="cards" style="grid-template-columns: repeat(auto-fill, minmax(min(${minCard}px, 100%), 1fr))">${cards}</div>`;
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(v));
}

/** Table of the config and protocol fields whose values differ between runs (empty for one run). */
export function configDiff(runs: readonly RunData[], labels: readonly string[]): string {
  if (runs.length < 2) return '';
  const flat = runs.map((r) => {
    const m = new Map<string, string>();
    const { created: _c, ...config } = r.config;
    flatten(config, '', m);
    if (r.eval) flatten(r.eval.protocol, 'protocol', m);
    return m;
  });
  const keys = [...new Set(flat.flatMap((m) => [...m.keys()]))].filter((k) => new Set(flat.map((m) => m.get(k) ?? '—')).size > 1);
  if (keys.length === 0) return '<p>The runs share every config and protocol field.</p>';
  const head = `<tr><th>Differs</th>${labels.map((l, i) => `<th class="txt">${runSwatch(i, l)}</th>`).join('')}</tr>`;
  const rows = keys.map((k) => `<tr><td><code>${esc(k)}</code></td>${flat.map((m) => `<td class="txt">${esc(m.get(k) ?? '—')}</td>`).join('')}</tr>`).join('');
  return `<div class="scroll"><table class="diff"><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
}

/** Render the report for `runs` (first run's dataset defines class order and groups). */
export function renderReport(runs: readonly RunData[], opts: ReportOptions = {}): string {
  if (runs.length === 0) throw new Error('renderReport: no runs');
  const labels = runLabels(runs, opts.labels);
  const d = runs[0]!.data;
  const order = headToTail(d.counts);
  const title = opts.title ?? `CBDM report: ${d.name}`;
  const smooth = opts.smooth ?? 0.9;
  const charts: ChartSpec[] = [histogramChart('chart-hist', d.classNames, d.counts)];
  const parts: string[] = [];
  parts.push(summarySection(runs, labels));
  parts.push(noteSection(opts.note));
  parts.push(section('groups', 'Many / Medium / Few', `Metrics for each group of classes by training-set size (eval.json → groups), and over all classes; bold = best run for that group and metric when it is ahead by more than ${LEVEL_TOLERANCE * 100} % (closer values are level: one seed cannot separate them).`, groupTable(runs, labels, d.counts)));
  // Settings with several seeds: their mean ± sd, next to the per-run table above.
  const settings = summariseSeeds(runs);
  const seeded = settings.some((x) => x.evaluated > 1);
  if (seeded) {
    parts.push(section('seeds', 'Mean ± sd over seeds', 'Runs that differ only in their seed (same method, config, data and evaluation protocol) form one setting; each cell is the mean ± sample sd (n − 1) over its evaluated seeds. Bold: the best mean when it is clear of every other setting by more than the sum of their sds.', seedTable(settings, d.counts, domainFeatures(runs))));
  }
  parts.push(section('data', 'Training data', 'The long tail every run was trained on, head → tail.', canvas('chart-hist')));

  const anySamples = runs.some((r) => r.samples.some((s) => s !== null));
  parts.push(section('samples', 'Samples per class', anySamples ? 'Generated samples of each class, side by side, head → tail. Tail classes are where a plain DDPM loses diversity.' : '',
    anySamples ? comparisonGrid(runs, labels, order, (r) => r.samples, 'samples') : '<p class="muted">No run has samples/class_XXX.png or samples.npz.</p>'));

  const tail = order.filter((c) => classGroup(d.counts[c]!) === 'few');
  const nnClasses = (tail.length ? tail : order.slice(-3)).filter((c) => runs.some((r) => r.nearest[c]));
  if (nnClasses.length) {
    parts.push(section('nearest', 'Nearest training images (tail classes)', 'Each row: a generated sample (framed), then its nearest training images of the same class by pixel L2 distance. Identical pictures mean memorisation.',
      comparisonGrid(runs, labels, nnClasses, (r) => r.nearest, 'nearest-neighbour panel')));
  }

  const metricCharts: string[] = [];
  const perClassKeys = metricKeys(runs.flatMap((r) => (r.eval?.perClass ?? []) as MetricValues[]), ['class', 'count']);
  perClassKeys.forEach((k, j) => {
    const id = `chart-metric-${j}`;
    charts.push(perClassMetricChart(id, k, runs, labels, d.classNames, d.counts, domainFeatures(runs)));
    metricCharts.push(canvas(id));
  });
  parts.push(section('per-class', 'Per-class metrics', metricCharts.length ? `Classes head → tail; shaded bands mark Many / Medium / Few. ${runs.length > 1 ? 'Runs as coloured bars.' : ''}` : '',
    metricCharts.length ? (d.classNames.length <= 20 ? `<div class="charts2">${metricCharts.join('')}</div>` : metricCharts.join('')) + legend(perClassKeys, domainFeatures(runs)) : '<p class="muted">No per-class metrics (eval.json → perClass).</p>'));

  const lossParts: string[] = [];
  if (runs.some((r) => r.metrics.length)) {
    charts.push(lossChart('chart-loss', runs, labels, smooth));
    lossParts.push(canvas('chart-loss'));
    const terms = runs.map((r, i) => lossTermsChart(`chart-terms-${i}`, r, labels[i]!, smooth)).filter((c): c is ChartSpec => c !== null);
    charts.push(...terms);
    if (terms.length) lossParts.push(`<div class="charts2">${terms.map((t) => canvas(t.id, 'chart small')).join('')}</div>`);
  }
  parts.push(section('loss', 'Training curves', lossParts.length ? 'From metrics.jsonl, log-scale y. A CBDM run\'s total loss includes L_reg + γ·L_com, so compare runs on L_ddpm.' : '', lossParts.length ? lossParts.join('') : '<p class="muted">No metrics.jsonl.</p>'));

  const study = opts.samplerStudy;
  if (study) {
    const studyRuns = [...new Set(study.rows.map((r) => r.run))];
    const studyCharts: string[] = [];
    studyRuns.forEach((run, i) => {
      const rows = study.rows.filter((r) => r.run === run);
      const method = rows[0]!.method.toUpperCase();
      for (const [metric, group, what] of [['accuracy', 'few', 'Few-class accuracy ↑'], ['fid', 'few', 'Few-class domain-FID ↓'], ['accuracy', 'many', 'Many-class accuracy ↑']] as const) {
        const c = samplerStudyChart(`chart-study-${i}-${group}-${metric}`, rows, group, metric, `${method}: ${what}`);
        charts.push(c);
        studyCharts.push(canvas(c.id));
      }
    });
    parts.push(section('samplers', 'Samplers against model evaluations', `${study.description}${study.date ? ` (${study.date}${study.machine ? `, ${study.machine}` : ''})` : ''}. One line per sampler, seed 1; dashed: the published 1000-step ancestral DDPM. Deterministic solvers converge to the probability-flow limit, which for these models is far from the stochastic samplers (docs/RESULTS.md §6).`,
      `<div class="charts2">${studyCharts.join('')}</div>`));
  }

  const cfg = runs.map((r, i) => {
    const blocks = [`<details><summary>config.json</summary><pre>${esc(JSON.stringify(r.config, null, 2))}</pre></details>`,
      `<details><summary>data.json</summary><pre>${esc(JSON.stringify(r.data, null, 2))}</pre></details>`,
      r.eval ? `<details open><summary>evaluation protocol</summary><p>${esc(describeProtocol(r.eval.protocol))}</p><pre>${esc(JSON.stringify(r.eval.protocol, null, 2))}</pre></details>` : '<p class="muted">Not evaluated.</p>'];
    return `<h3>${runSwatch(i, labels[i]!)} <code>${esc(r.dir)}</code></h3>${blocks.join('')}`;
  }).join('');
  parts.push(section('config', 'Configuration and protocol', 'Exactly what each run was trained and evaluated with.', configDiff(runs, labels) + cfg));

  const toc = [['summary', 'Runs'], ['findings', 'Findings'], ['groups', 'Many/Medium/Few'], ...(seeded ? [['seeds', 'Mean ± sd']] : []), ['data', 'Data'], ['samples', 'Samples'], ...(nnClasses.length ? [['nearest', 'Nearest images']] : []), ['per-class', 'Per-class metrics'], ['loss', 'Training curves'], ...(study ? [['samplers', 'Samplers']] : []), ['config', 'Config']];
  const generated = (opts.generatedAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const chartJs = opts.chartJs ?? loadChartJs();
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<header><h1>${esc(title)}</h1><p class="sub">${runs.length} run${runs.length > 1 ? 's' : ''}: ${labels.map((l, i) => runSwatch(i, l)).join(' &nbsp; ')} · generated ${esc(generated)} by cbdm report <span id="chart-status"></span></p>
<nav class="toc">${toc.map(([id, t]) => `<a href="#${id}">${esc(t!)}</a>`).join('')}${opts.samplerPage ? `<a id="sampler-link" href="${esc(opts.samplerPage)}">Interactive sampler ↗</a>` : ''}</nav>
${opts.samplerPage ? `<p class="sub">The models of this report can be sampled live in <a href="${esc(opts.samplerPage)}">${esc(opts.samplerPage)}</a> (beside this file; it opens offline): class by class, ω on a slider, any solver.</p>` : ''}</header>
${parts.join('')}<footer>Self-contained report: images are embedded and Chart.js is inlined, so it opens offline.</footer>
</main>
<script type="application/json" id="cbdm-charts">${jsonForScript(charts)}</script>
<script>${scriptSafe(chartJs)}</script>
<script>${scriptSafe(CLIENT_JS)}</script>
</body></html>
`;
}
