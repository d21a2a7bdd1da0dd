import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classFileName } from '../../src/diffusion/samples-file.ts';
import { appendMetrics, readRunDir, writeEvalJson, parseMetricsJsonl, type EvalResult } from '../../src/report/run-dir.ts';
import { writeNpz } from '../../src/io/npz.ts';
import { fromNumbers } from '../../src/io/ndarray.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { FAKE_COUNTS, makeFakeRun } from './fake-runs.ts';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cbdm-rundir-'));
}

async function rejectsWith(dir: string, re: RegExp): Promise<void> {
  await assert.rejects(readRunDir(dir), (e: unknown) => e instanceof CbdmError && re.test(e.message));
}

test('readRunDir reads a complete run directory', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'cbdm');
    makeFakeRun(dir, { method: 'cbdm', seed: 3, logLines: 7 });
    const r = await readRunDir(dir);
    assert.equal(r.config.train.method, 'cbdm');
    assert.deepEqual(r.data.counts, FAKE_COUNTS);
    assert.deepEqual(FAKE_COUNTS, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
    assert.equal(r.metrics.length, 7);
    assert.equal(r.metrics[6]!.step, 350);
    assert.equal(r.eval!.perClass.length, 10);
    assert.equal(r.eval!.perClass[9]!.group, 'few');
    assert.ok(r.samples.every((s) => s !== null && s.width === 133 && s.height === 133));
    assert.deepEqual(r.nearest.map((s) => s !== null), [false, false, false, false, false, false, false, true, true, true]);
    assert.deepEqual(r.warnings, []);
    assert.equal(classFileName(7), 'class_007.png');
    assert.equal(classFileName(1234), 'class_1234.png');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('readRunDir: clear CbdmErrors for missing and corrupt files', async () => {
  const root = tmp();
  try {
    await rejectsWith(join(root, 'nope'), /does not exist/);
    const dir = join(root, 'run');
    makeFakeRun(dir, { method: 'ddpm', seed: 1, logLines: 3 });
    const orig = (f: string) => readFileSync(join(dir, f), 'utf8');
    const cfg = orig('config.json');
    const data = orig('data.json');
    const ev = orig('eval.json');
    const restore = () => { writeFileSync(join(dir, 'config.json'), cfg); writeFileSync(join(dir, 'data.json'), data); writeFileSync(join(dir, 'eval.json'), ev); };

    rmSync(join(dir, 'config.json'));
    await rejectsWith(dir, /config\.json is missing/);
    writeFileSync(join(dir, 'config.json'), cfg.slice(0, 40));
    await rejectsWith(dir, /config\.json is not valid JSON/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ train: { method: 'gan' } }));
    await rejectsWith(dir, /train\.method must be one of 'ddpm', 'cbdm', 't2h', 'cm'/);
    writeFileSync(join(dir, 'config.json'), cfg.replace(/"method": *"\w+"/, '"method": "t2h"'));
    assert.equal((await readRunDir(dir)).config.train.method, 't2h', 'a T2H run is read like any other');
    restore();

    writeFileSync(join(dir, 'data.json'), JSON.stringify({ name: 'x', classNames: ['a', 'b'], counts: [1] }));
    await rejectsWith(dir, /2 classNames but 1 counts/);
    restore();

    const e = JSON.parse(ev) as EvalResult;
    writeFileSync(join(dir, 'eval.json'), JSON.stringify({ ...e, perClass: [{ ...e.perClass[0], class: 10 }] }));
    await rejectsWith(dir, /perClass\[0\]\.class must be a class index 0\.\.9/);
    writeFileSync(join(dir, 'eval.json'), JSON.stringify({ ...e, perClass: [{ ...e.perClass[0], fid: 'low' }] }));
    await rejectsWith(dir, /perClass\[0\]\.fid must be a number or null/);
    writeFileSync(join(dir, 'eval.json'), JSON.stringify({ ...e, protocol: { ...e.protocol, sampler: 'dpm++' } }));
    await rejectsWith(dir, /protocol\.sampler/);
    restore();

    writeFileSync(join(dir, 'samples', classFileName(3)), 'not a png at all, just text padding');
    await rejectsWith(dir, /class_003\.png is not a PNG file/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('metrics.jsonl: a cut-off last line is a warning, a bad middle line an error', () => {
  const w: string[] = [];
  const ok = parseMetricsJsonl('{"step":1,"loss":0.5}\n{"step":2,"loss":0.4,"l_ddpm":0.4}\n{"step":3,"lo', 'm.jsonl', w);
  assert.equal(ok.length, 2);
  assert.equal(ok[1]!.l_ddpm, 0.4);
  assert.match(w[0]!, /incomplete last line/);
  assert.throws(() => parseMetricsJsonl('{"step":1,"loss":0.5}\n{"step":2,\n{"step":3,"loss":1}\n', 'm.jsonl'), /line 2 is not valid JSON/);
  assert.throws(() => parseMetricsJsonl('{"step":1}\n', 'm.jsonl'), /needs numeric 'step' and 'loss'/);
});

test('writers: appendMetrics appends lines; writeEvalJson stores NaN as null and refuses bad input', async () => {
  const root = tmp();
  try {
    appendMetrics(root, { step: 1, loss: 1 });
    appendMetrics(root, [{ step: 2, loss: 0.5 }, { step: 3, loss: 0.25, grad_norm: 2 }]);
    assert.equal(readFileSync(join(root, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 3);
    const ev: EvalResult = {
      protocol: { sampler: 'ddpm', steps: 1000, omega: 0.8, nPerClass: 10, featureExtractor: 'inception-v3-fid' },
      overall: { fid: NaN }, perClass: [{ class: 0, name: 'a', count: 5, group: 'few', fid: Infinity }], groups: { many: {}, medium: {}, few: { fid: 3 } },
    };
    writeEvalJson(root, ev);
    const back = JSON.parse(readFileSync(join(root, 'eval.json'), 'utf8')) as EvalResult;
    assert.equal(back.overall.fid, null);
    assert.equal(back.perClass[0]!.fid, null);
    const bad = join(root, 'bad');
    assert.throws(() => writeEvalJson(bad, { ...ev, protocol: { ...ev.protocol, featureExtractor: 3 as unknown as string } }), /featureExtractor/);
    assert.equal(existsSync(join(bad, 'eval.json')), false, 'nothing written on invalid input');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('readRunDir builds per-class grids from samples.npz when samples/ is absent; stray class files warn', async () => {
  const root = tmp();
  try {
    makeFakeRun(root, { method: 'ddpm', seed: 5, logLines: 2, evaluated: false });
    const n = 6;
    const x = Array.from({ length: n * 3 * 4 * 4 }, (_, i) => (i % 7) / 6);
    writeNpz(join(root, 'samples.npz'), { x: fromNumbers('float32', [n, 3, 4, 4], x), y: fromNumbers('int64', [n], [0, 0, 9, 9, 9, 2]) });
    mkdirSync(join(root, 'nn'));
    writeFileSync(join(root, 'nn', classFileName(42)), 'x');
    const r = await readRunDir(root);
    assert.equal(r.eval, null);
    assert.deepEqual(r.samples.map((s) => s !== null), [true, false, true, false, false, false, false, false, false, true]);
    // class 9: 3 images → 2×2 grid of 4×4 images upscaled ×2, pad 1: 2·8 + 3 = 19 px
    assert.equal(r.samples[9]!.width, 19);
    assert.match(r.warnings.join('\n'), /class 42 does not exist/);
    writeNpz(join(root, 'samples.npz'), { x: fromNumbers('float32', [2, 4], new Array(8).fill(0)), y: fromNumbers('int64', [2], [0, 1]) });
    await rejectsWith(root, /x must be N×C×H×W/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
