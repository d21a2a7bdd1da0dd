/**
 * Static parts of the report page: the stylesheet, the client script that turns embedded chart
 * specs into Chart.js charts, and the Chart.js UMD bundle read from node_modules so the page
 * needs no network when it is opened.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CbdmError } from '../util/errors.ts';

/** The Chart.js UMD bundle's source (defines `window.Chart`). */
export function loadChartJs(): string {
  let dist: string;
  try {
    dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  } catch {
    throw new CbdmError('chart.js is not installed; run npm install in the cbdm folder');
  }
  for (const name of ['chart.umd.min.js', 'chart.umd.js']) {
    const p = join(dist, name);
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  throw new CbdmError(`chart.js in ${dist} has no UMD bundle (chart.umd.js); reinstall chart.js 4`);
}

/** Make text safe inside an inline <script> element. */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** Serialise a value as JSON that is safe inside <script type="application/json">. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Client script: reads #cbdm-charts and draws every chart; shades class-group bands. */
export const CLIENT_JS = `
(function () {
  var specs = JSON.parse(document.getElementById('cbdm-charts').textContent);
  var status = document.getElementById('chart-status');
  if (typeof Chart === 'undefined') { if (status) status.textContent = 'Chart.js failed to load: charts are missing.'; return; }
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#333';
  var bandColours = { many: 'rgba(76,120,168,0.08)', medium: 'rgba(242,165,65,0.12)', few: 'rgba(228,87,86,0.12)' };
  var bandsPlugin = {
    id: 'cbdmGroupBands',
    beforeDatasetsDraw: function (chart, _args, opts) {
      var bands = opts && opts.bands; if (!bands) return;
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      var half = x.getPixelForValue(1) - x.getPixelForValue(0);
      ctx.save();
      bands.forEach(function (b) {
        var left = x.getPixelForValue(b.from) - half / 2, right = x.getPixelForValue(b.to) + half / 2;
        ctx.fillStyle = bandColours[b.group] || 'rgba(0,0,0,0.05)';
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
        ctx.fillStyle = '#666'; ctx.font = '11px ' + Chart.defaults.font.family; ctx.textAlign = 'center';
        ctx.fillText(b.group, (left + right) / 2, area.top - 5);
      });
      ctx.restore();
    }
  };
  var drawn = 0;
  specs.forEach(function (s) {
    var canvas = document.getElementById(s.id);
    if (!canvas) return;
    var options = s.options;
    if (s.groupBands) { options.plugins = options.plugins || {}; options.plugins.cbdmGroupBands = { bands: s.groupBands }; options.layout = { padding: { top: 16 } }; }
    new Chart(canvas, { type: s.type, data: s.data, options: options, plugins: s.groupBands ? [bandsPlugin] : [] });
    drawn++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
`;

/** The report's stylesheet: readable on screen and in print, no external fonts. */
export const REPORT_CSS = `
:root { --fg: #1d2330; --muted: #5b6577; --line: #dde2ea; --bg: #f6f7f9; --card: #fff; --accent: #3a6ea5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 60px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .sub { color: var(--muted); margin: 0 0 10px; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; margin: 8px 0 0; }
nav.toc a { color: var(--accent); text-decoration: none; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px; margin: 18px 0; }
section h2 { margin: 0 0 10px; font-size: 19px; }
section h3 { margin: 18px 0 4px; font-size: 16px; }
table.diff { width: auto; margin-bottom: 8px; }
section p.lead { color: var(--muted); margin: 0 0 12px; font-size: 14px; }
.note { border-left: 4px solid #d9822b; background: #fff8ef; }
.note p { margin: 6px 0; white-space: pre-wrap; }
.muted { color: var(--muted); }
.warn { background: #fff4f2; border: 1px solid #f1c4bc; border-radius: 6px; padding: 8px 12px; margin: 8px 0; font-size: 14px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 10px; text-align: right; vertical-align: top; white-space: nowrap; }
td.wrap { white-space: normal; }
th { background: #f0f3f7; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
td.txt, th.txt { text-align: left; }
tfoot td { border-top: 2px solid #aab3c0; }
td.best { font-weight: 700; color: #0b5d1e; }
/* The group table has every metric twice per run: tighter cells keep all of it on a desktop page. */
#groups-table { font-size: 13px; }
#groups-table th, #groups-table td { padding: 5px 6px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; }
.badge.many { background: #4c78a8; } .badge.medium { background: #d68a1e; } .badge.few { background: #e45756; }
.chart { position: relative; height: 300px; margin: 10px 0 18px; }
.chart.small { height: 240px; }
.charts2 { display: grid; grid-template-columns: 1fr 1fr; gap: 0 20px; }
.cards { display: grid; gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 6px; background: #fbfcfd; }
.card-h { display: flex; align-items: baseline; gap: 8px; font-size: 14px; margin-bottom: 6px; }
.card-h b { font-size: 15px; }
.card-h .badge { margin-left: auto; }
.pair { display: grid; gap: 10px; }
.pair figure { margin: 0; }
.pair img { image-rendering: pixelated; width: 100%; height: auto; display: block; border-radius: 3px; }
.pair figcaption { font-size: 12px; color: var(--muted); margin-top: 3px; }
.pair .missing { color: var(--muted); font-size: 13px; font-style: italic; padding: 30px 0; text-align: center; border: 1px dashed var(--line); border-radius: 3px; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f4f6f9; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow: auto; font-size: 12.5px; line-height: 1.4; max-height: 480px; }
code { font-size: 13px; overflow-wrap: anywhere; }
.scroll { max-width: 100%; overflow-x: auto; }
ul.legend { margin: 8px 0 0; padding-left: 18px; font-size: 13px; color: var(--muted); }
img, canvas { max-width: 100%; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 30px; }
@media (max-width: 800px) { .charts2 { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; } }
`;
