import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunDir, type RunData } from '../../src/report/run-dir.ts';
import { describeProtocol, loadProtocol, type ProtocolSpec } from '../../src/metrics/protocol.ts';
import { configDiff, escapeHtml, groupTable, renderReport, runLabels } from '../../src/report/html.ts';
import { loadChartJs, jsonForScript } from '../../src/report/assets.ts';
import { bestIndices, formatMetric, metricKeys, metricLabel, metricLegend, isDomainFeatures } from '../../src/report/metric-info.ts';
import { emaSmooth, groupBands, headToTail, thin } from '../../src/report/charts.ts';
import { runReport } from '../../src/cli/report.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { makeFakeRunPair } from './fake-runs.ts';

const root = mkdtempSync(join(tmpdir(), 'cbdm-html-'));
const dirs = makeFakeRunPair(root);
const loaded = Promise.all(dirs.map((d) => readRunDir(d)));
const CHART = '/*chart.js stand-in*/ window.Chart = function () {};';

test.after(() => rmSync(root, { recursive: true, force: true }));

test('escapeHtml escapes the five HTML specials', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(jsonForScript({ s: '</script><!--&' }), '{"s":"\\u003c/script\\u003e\\u003c!--\\u0026"}');
});

test('renderReport: every section present, user strings escaped, nothing breaks out of <script>', async () => {
  const runs = structuredClone(await loaded) as RunData[];
  const evil = '<script>alert(1)</script>';
  runs[0]!.data.classNames[9] = evil;
  runs[1]!.data.classNames[9] = evil;
  const html = renderReport(runs, { title: `T "quoted" & <b>`, note: `CBDM did not beat DDPM on Few.\n\n<img src=x onerror=alert(1)>`, chartJs: CHART, generatedAt: new Date('2026-11-25T09:00:00Z') });
  for (const id of ['summary', 'findings', 'groups', 'data', 'samples', 'nearest', 'per-class', 'loss', 'config']) assert.match(html, new RegExp(`<section id="${id}"`), id);
  assert.ok(!html.includes(evil), 'class name is escaped everywhere');
  assert.ok(!html.includes('<img src=x'), 'note is escaped');
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /<title>T &quot;quoted&quot; &amp; &lt;b&gt;<\/title>/);
  assert.match(html, /<p>CBDM did not beat DDPM on Few\.<\/p><p>&lt;img/);
  assert.equal(html.match(/<script/g)!.length, 3, 'chart data, chart.js, client script');
  assert.equal(html.match(/<\/script>/g)!.length, 3);
  const data = JSON.parse(/<script type="application\/json" id="cbdm-charts">(.*?)<\/script>/s.exec(html)![1]!) as { id: string; data: { labels?: string[] } }[];
  assert.deepEqual(data.map((c) => c.id), ['chart-hist', 'chart-metric-0', 'chart-metric-1', 'chart-metric-2', 'chart-metric-3', 'chart-loss', 'chart-terms-0', 'chart-terms-1']);
  assert.equal(data[0]!.data.labels![9], evil, 'chart labels carry the raw name (drawn on canvas, never parsed as HTML)');
  assert.equal(html.match(/<img src="data:image\/png;base64,/g)!.length, 26);
  assert.match(html, /2026-11-25 09:00 UTC/);
  assert.match(html, /<td class="txt">&quot;ddpm&quot;<\/td><td class="txt">&quot;cbdm&quot;<\/td>/, 'config diff lists the method');
});

test('Many/Medium/Few table: 3 body rows and the better run in bold per metric', async () => {
  const runs = await loaded;
  const t = groupTable(runs, ['A', 'B'], runs[0]!.data.counts);
  const body = /<tbody>(.*?)<\/tbody>/s.exec(t)![1]!;
  const rows = body.match(/<tr>.*?<\/tr>/gs)!;
  assert.equal(rows.length, 3);
  // Fake data: CBDM has the lower FID on Few; FID is the first metric column pair.
  const few = rows[2]!.match(/<td[^>]*>[^<]*<\/td>/g)!;
  assert.match(few[1]!, /^<td>[\d.]+<\/td>$/, 'DDPM Few FID not bold');
  assert.match(few[2]!, /^<td class="best">/, 'CBDM Few FID bold');
  assert.match(t, /<tfoot><tr><td><b>All classes<\/b>/);
  assert.match(groupTable(runs.map((r) => ({ ...r, eval: null })), ['A', 'B'], runs[0]!.data.counts), /No run has an eval\.json/);
});

test('metric helpers: direction, ties, formatting, key order', () => {
  assert.deepEqual(bestIndices('fid', [3, 2, 2]), [1, 2]);
  assert.deepEqual(bestIndices('recall', [0.3, null, 0.5]), [2]);
  assert.deepEqual(bestIndices('mystery', [1, 2]), []);
  assert.deepEqual(bestIndices('fid', [1]), []);
  // no winner inside the level tolerance (1 %): 10.00 vs 10.05 is level, 10 vs 11 is not
  assert.deepEqual(bestIndices('fid', [10, 10.05]), []);
  assert.deepEqual(bestIndices('fid', [10, 10.05, 11]), [0, 1]);
  assert.deepEqual(bestIndices('recall', [0.9, 0.95]), [1]);
  assert.deepEqual(bestIndices('nn_ratio', [0.5, 1]), [], 'no better direction: never bold');
  assert.equal(metricLabel('fid', true), 'domain-FID ↓');
  assert.equal(metricLabel('fid'), 'FID ↓');
  assert.equal(metricLabel('nn_ratio'), 'nn-ratio');
  assert.match(metricLegend(['fid', 'recall', 'mystery'], true).join('\n'), /^domain-FID ↓: Fréchet distance .*dataset's own classifier, not the Inception\)\nRecall ↑: improved recall/);
  assert.ok(isDomainFeatures('shapes10-16-domain') && isDomainFeatures('fashion-mnist-16-classifier') && !isDomainFeatures('inception-v3-fid'));
  assert.equal(formatMetric('fid', 12.345), '12.35');
  assert.equal(formatMetric('fid', null), '—');
  assert.deepEqual(metricKeys([{ zeta: 1, recall: 2 }, { fid: 1, alpha: null }]), ['fid', 'recall', 'zeta']);
});

test('chart helpers: head→tail order, group bands, EMA smoothing, thinning', () => {
  assert.deepEqual(headToTail([5, 500, 23, 500]), [1, 3, 2, 0]);
  assert.deepEqual(groupBands([0, 1, 2, 3], [200, 150, 50, 3]), [{ group: 'many', from: 0, to: 1 }, { group: 'medium', from: 2, to: 2 }, { group: 'few', from: 3, to: 3 }]);
  const s = emaSmooth([2, 2, 2], 0.9);
  assert.ok(s.every((v) => Math.abs(v - 2) < 1e-12), 'bias-corrected EMA of a constant is the constant');
  const t = thin(Array.from({ length: 1000 }, (_, i) => i), 11);
  assert.deepEqual([t[0], t[10], t.length], [0, 999, 11]);
});

test('labels, protocol description and config diff', async () => {
  const runs = await loaded;
  assert.deepEqual(runLabels(runs), ['DDPM', 'CBDM']);
  assert.deepEqual(runLabels([runs[0]!, runs[0]!]), ['DDPM (ddpm)', 'DDPM (ddpm)']);
  assert.equal(describeProtocol({ sampler: 'ddpm', steps: 1000, omega: 1.6, nPerClass: 500, featureExtractor: 'inception-v3-fid' }),
    'protocol A (CBDM paper): ancestral DDPM, 1000 steps, ω = 1.6, 500 samples/class, features: inception-v3-fid');
  // every sampler by its own name (the report once called every non-DDPM sampler "DDIM")
  assert.equal(describeProtocol({ sampler: 'heun', steps: 18, nfe: 35, spacing: 'karras', omega: 0.8, nPerClass: 100, featureExtractor: 'inception-v3-fid' }),
    'Heun, 18 steps (karras spacing, 35 evaluations), ω = 0.8, 100 samples/class, features: inception-v3-fid');
  assert.match(describeProtocol({ sampler: 'dpmpp-2m', steps: 20, omega: 0.8, nPerClass: 100, featureExtractor: 'x' }), /^DPM-Solver\+\+\(2M\), 20 steps/);
  assert.match(describeProtocol(runs[0]!.eval!.protocol), /^protocol B/);
  assert.equal(configDiff([runs[0]!], ['A']), '');
  assert.match(configDiff(runs, ['A', 'B']), /train\.batch<\/code><\/td><td class="txt">64<\/td><td class="txt">48/);
});

test('the Chart.js UMD bundle is found and defines Chart', () => {
  const src = loadChartJs();
  assert.ok(src.length > 100_000);
  assert.match(src, /Chart/);
});

test('cbdm report (runReport) writes the file atomically and checks --labels', async () => {
  const out = join(root, 'out', 'report.html');
  const r = await runReport({ runs: dirs, out, title: 'CLI', note: 'n', labels: 'Baseline, Balanced' });
  assert.equal(r.out, out);
  const html = readFileSync(out, 'utf8');
  assert.equal(Buffer.byteLength(html), r.bytes);
  assert.match(html, /Baseline/);
  assert.match(html, /Balanced/);
  await assert.rejects(runReport({ runs: dirs, out, labels: 'one' }), (e: unknown) => e instanceof CbdmError && /1 names for 2 runs/.test(e.message));
  await assert.rejects(runReport({ runs: [join(root, 'missing')], out }), CbdmError);
});

test('runs that differ only in ω get a note; any other protocol difference gets a warning naming the fields', async () => {
  const runs = await loaded;
  const withProto = (r: RunData, p: Record<string, unknown>): RunData => ({ ...r, eval: { ...r.eval!, protocol: { ...r.eval!.protocol, ...p } } });
  const omegaOnly = renderReport([withProto(runs[0]!, { omega: 0.8 }), withProto(runs[1]!, { ...runs[0]!.eval!.protocol, omega: 1.6 })], {});
  assert.doesNotMatch(omegaOnly, /not directly comparable/);
  assert.match(omegaOnly, /its own guidance scale \(DDPM ω 0\.8, CBDM ω 1\.6\) under one ω policy/);
  const steps = renderReport([withProto(runs[0]!, { omega: 0.8 }), withProto(runs[1]!, { ...runs[0]!.eval!.protocol, omega: 0.8, steps: 7 })], {});
  assert.match(steps, /<div class="warn">CBDM was evaluated under another protocol than DDPM, so their metrics are not directly comparable: steps: 50 ≠ 7\.<\/div>/);
});

test('protocol specs: runs under one spec compare (a tuned ω may differ); another spec, or a spec against none, is a visible warning', async () => {
  const runs = await loaded;
  const spec = loadProtocol('fast');
  const ref = { file: 'ref.npz', dataset: 'shapes10-lt', split: 'train' as const, n: 500 };
  const withSpec = (r: RunData, s: ProtocolSpec, omega: number): RunData => ({ ...r, eval: { ...r.eval!, protocol: { ...runs[0]!.eval!.protocol, omega, spec: s, reference: ref, seed: s.seed } } });
  const same = renderReport([withSpec(runs[0]!, spec, 0.8), withSpec(runs[1]!, { ...spec, seed: 5 }, 1.6)], {});
  assert.doesNotMatch(same, /another protocol/, 'the sampling seed and the resolved ω do not make protocols differ');
  assert.match(same, /under one ω policy: the run&#39;s own ω/);
  const tuned = { ...spec, omega: { kind: 'tuned' as const, grid: [0, 1, 2], nPerClass: 4, seed: 1 } };
  const other = renderReport([withSpec(runs[0]!, spec, 0.8), withSpec(runs[1]!, { ...tuned, perClass: 50 }, 1)], {});
  const warn = /<div class="warn">(CBDM was evaluated under another protocol[^<]*)<\/div>/.exec(other)?.[1] ?? '';
  assert.match(warn, /spec\.omega\.kind: &quot;run&quot; ≠ &quot;tuned&quot;/);
  assert.match(warn, /spec\.perClass: 100 ≠ 50/);
  const none = renderReport([withSpec(runs[0]!, spec, 0.8), runs[1]!], {});
  assert.match(none, /<div class="warn">CBDM was evaluated under another protocol than DDPM[^<]*protocol: &#39;fast&#39; ≠ none \(samples-file metadata\)\.</);
});

test('renderReport with the shipped sampler study: a section of metric-against-NFE charts with the 1000-step reference', async () => {
  const { readSamplerStudy } = await import('../../src/report/sampler-study.ts');
  const study = readSamplerStudy(join(import.meta.dirname, '..', '..', 'assets', 'demo', 'nfe-study.json'));
  const runs = structuredClone(await loaded) as RunData[];
  const html = renderReport(runs, { chartJs: CHART, samplerStudy: study });
  assert.match(html, /<section id="samplers"/);
  const data = JSON.parse(/<script type="application\/json" id="cbdm-charts">(.*?)<\/script>/s.exec(html)![1]!) as { id: string; data: { datasets: { label: string; data: { x: number; y: number }[] }[] } }[];
  const few = data.find((c) => c.id.endsWith('few-accuracy'))!;
  const ref = few.data.datasets.find((d) => d.label.startsWith('ddpm, 1000 steps'))!;
  const cbdmRef = study.rows.find((r) => r.key === 'ddpm-1000' && r.seed === 1 && r.run.endsWith('cbdm'))!;
  assert.equal(ref.data[0]!.y, cbdmRef.groups.few!.accuracy);
  const unipc = few.data.datasets.find((d) => d.label === 'unipc')!;
  assert.deepEqual(unipc.data.map((p) => p.x), [...unipc.data.map((p) => p.x)].sort((a, b) => a - b), 'points ordered by NFE');
  assert.throws(() => readSamplerStudy(join(import.meta.dirname, '..', '..', 'package.json')), /not a sampler-study file/);
});
