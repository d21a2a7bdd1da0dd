/**
 * scripts/compare-study.sh (with scripts/study-lib.sh) and scripts/compare-report.ts. The study
 * runs with a stand-in `node` first on PATH that records each call and writes the files the real
 * commands would (a checkpoint, an eval.json), so the job list, the flags of each method, the ω
 * policy, resuming and reuse of another study's runs are checked in seconds; the report is
 * checked on hand-made evaluations. (The real commands ran end to end at a toy budget: 4 steps,
 * 4 samples per class, all six methods, both ω; docs/RESULTS.md.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareReport } from '../../scripts/compare-report.ts';

const root = join(import.meta.dirname, '..', '..');
const flock = spawnSync('flock', ['--version']).status === 0;

// Records "ARGS" a line; train → the final checkpoint (its step from the last --steps) and the
// regime study's early ones, demo-study → OUT/RUN-STEP-wW/{eval.json,samples.npz}, classify → {}.
const FAKE_NODE = `#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
args=("$@"); out='' steps='' tag=''
for ((i=0;i<\${#args[@]};i++)); do case \${args[i]} in --out) out=\${args[i+1]};; --steps) steps=\${args[i+1]};; --tag=*) tag=\${args[i]#--tag=};; esac; done
case "$*" in
  *" train "*) mkdir -p "$out/checkpoints"; for s in "$steps" 3000 6000; do touch "$out/checkpoints/latest.json" "$out/checkpoints/$(printf 'step-%08d.safetensors' "$s")"; done;;
  *demo-study.ts*) d="$out/$(basename "\${args[-1]}")-$steps$tag"; mkdir -p "$d"; echo '{}' > "$d/eval.json"; touch "$d/samples.npz";;
  *" classify "*) echo '{}';;
esac
`;

function study(args: string[], tmp: string, script = 'compare-study.sh'): { status: number | null; stderr: string; calls: string[] } {
  const bin = join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'node'), FAKE_NODE);
  chmodSync(join(bin, 'node'), 0o755);
  const log = join(tmp, 'calls.log');
  rmSync(log, { force: true });
  const r = spawnSync('bash', [join(root, 'scripts', script), ...args], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: log } });
  return { status: r.status, stderr: r.stderr, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
}

test('compare-study.sh: each method its flags and one recipe, published and equal ω, seed by seed; a second start redoes nothing', { skip: flock ? false : 'flock not found' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-compare-study-'));
  try {
    const dir = join(tmp, 'study');
    const r = study(['--dataset', 'shapes10-lt', '--out', dir, '--seeds', '0,1', '--methods', 'ddpm,t2h,cbdm-coral,cm'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const trains = r.calls.filter((c) => c.includes(' train '));
    const recipe = '--dataset shapes10-lt --image-size 16 --preset tiny --steps 2000 --batch 32 --lr 0.001 --warmup 100 --ema-decay 0.995 --ckpt-every 1000 --keep-ckpts 0 --log-every 50 --quiet';
    assert.deepEqual(trains.map((c) => c.replace(/ --out .*/, '')), [
      `bin/cbdm.mjs train --method ddpm --seed 0 ${recipe}`, `bin/cbdm.mjs train --method t2h --seed 0 ${recipe}`,
      `bin/cbdm.mjs train --method cbdm --coral --seed 0 ${recipe}`, `bin/cbdm.mjs train --method cm --seed 0 ${recipe}`,
      `bin/cbdm.mjs train --method ddpm --seed 1 ${recipe}`, `bin/cbdm.mjs train --method t2h --seed 1 ${recipe}`,
      `bin/cbdm.mjs train --method cbdm --coral --seed 1 ${recipe}`, `bin/cbdm.mjs train --method cm --seed 1 ${recipe}`,
    ]);
    // Evaluations in order: seed 0 method by method, at the published ω, then at ω 0.8 where that differs; then seed 1.
    const evals = r.calls.filter((c) => c.includes('demo-study.ts')).map((c) => `${/\/([^/ ]+)$/.exec(c)![1]} ${/--omega (\S+)/.exec(c)![1]}`);
    assert.deepEqual(evals, ['ddpm-s0 0.8', 't2h-s0 1.5', 't2h-s0 0.8', 'cbdm-coral-s0 1.6', 'cbdm-coral-s0 0.8', 'cm-s0 0.8',
      'ddpm-s1 0.8', 't2h-s1 1.5', 't2h-s1 0.8', 'cbdm-coral-s1 1.6', 'cbdm-coral-s1 0.8', 'cm-s1 0.8']);
    assert.ok(r.calls.filter((c) => c.includes('demo-study.ts')).every((c) => c.includes('--per-class 100 --sampler-steps 25 --eta 1 --clip clip --seed 1 --steps 2000')));
    const proto = JSON.parse(readFileSync(join(dir, 'protocol.json'), 'utf8')) as { steps: number; methods: string[]; equalOmega: number; publishedOmega: Record<string, number> };
    assert.equal(proto.steps, 2000);
    assert.deepEqual(proto.methods, ['ddpm', 't2h', 'cbdm-coral', 'cm']);
    assert.deepEqual(proto.publishedOmega, { ddpm: 0.8, cbdm: 1.6, t2h: 1.5, coral: 0.8, 'cbdm-coral': 1.6, cm: 0.8, 'cm-l0.1': 0.8 });
    // Resumable: everything done is skipped.
    const again = study(['--dataset', 'shapes10-lt', '--out', dir, '--seeds', '0,1', '--methods', 'ddpm,t2h,cbdm-coral,cm'], tmp);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(again.calls, []);
    // Extended with another method: only its jobs run, with its flags, and the protocol keeps every method so far.
    const more = study(['--dataset', 'shapes10-lt', '--out', dir, '--seeds', '0', '--methods', 'cm-l0.1,t2h'], tmp);
    assert.equal(more.status, 0, more.stderr);
    assert.deepEqual(more.calls.filter((c) => c.includes(' train ')).map((c) => c.replace(/ --out .*/, '')), [
      `bin/cbdm.mjs train --method cm --cm-lambda 0.1 --seed 0 ${recipe}`,
    ]);
    assert.match(more.calls.find((c) => c.includes(' train '))!, /--out \S+\/cm-l0\.1-s0$/);
    assert.deepEqual(more.calls.filter((c) => c.includes('demo-study.ts')).map((c) => `${/\/([^/ ]+)$/.exec(c)![1]} ${/--omega (\S+)/.exec(c)![1]}`), ['cm-l0.1-s0 0.8']);
    const proto2 = JSON.parse(readFileSync(join(dir, 'protocol.json'), 'utf8')) as { methods: string[]; sweepOmegas: number[] };
    assert.deepEqual(proto2.methods, ['ddpm', 't2h', 'cbdm-coral', 'cm', 'cm-l0.1']);
    assert.deepEqual(proto2.sweepOmegas, []);
    // An ω sweep: each final model at the other ω too (not again at its published or the equal ω); recorded.
    const sw = study(['--dataset', 'shapes10-lt', '--out', dir, '--seeds', '0', '--methods', 'ddpm,t2h', '--omegas', '0,0.8,1.5,2.4'], tmp);
    assert.equal(sw.status, 0, sw.stderr);
    assert.deepEqual(sw.calls.filter((c) => c.includes(' train ')), []);
    assert.deepEqual(sw.calls.filter((c) => c.includes('demo-study.ts')).map((c) => `${/\/([^/ ]+)$/.exec(c)![1]} ${/--omega (\S+)/.exec(c)![1]}`),
      ['ddpm-s0 0', 'ddpm-s0 1.5', 'ddpm-s0 2.4', 't2h-s0 0', 't2h-s0 2.4']);
    const proto3 = JSON.parse(readFileSync(join(dir, 'protocol.json'), 'utf8')) as { methods: string[]; sweepOmegas: number[] };
    assert.deepEqual(proto3.sweepOmegas, [0, 0.8, 1.5, 2.4]);
    assert.deepEqual(proto3.methods, proto2.methods);
    const bad = study(['--dataset', 'shapes10-lt', '--out', dir, '--omegas', '1,x'], tmp);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--omegas takes non-negative numbers separated by commas \(got '1,x'\)/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('compare-study.sh --reuse: DDPM/CBDM come from the other study read-only (its evaluations, else its final checkpoint); an unfinished one waits', { skip: flock ? false : 'flock not found' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-compare-reuse-'));
  try {
    const regime = join(tmp, 'regime');
    // The other study: ddpm-s0 trained and evaluated at 0.8; cbdm-s0 trained, not evaluated at 0.8; cbdm-s1 still training.
    for (const run of ['ddpm-s0', 'cbdm-s0']) { mkdirSync(join(regime, run, 'checkpoints'), { recursive: true }); writeFileSync(join(regime, run, 'checkpoints', 'step-00010500.safetensors'), ''); }
    mkdirSync(join(regime, 'cbdm-s1', 'checkpoints'), { recursive: true });
    writeFileSync(join(regime, 'cbdm-s1', 'checkpoints', 'step-00001500.safetensors'), '');
    mkdirSync(join(regime, 'eval', 'ddpm-s0-10500-w0.8'), { recursive: true });
    writeFileSync(join(regime, 'eval', 'ddpm-s0-10500-w0.8', 'eval.json'), '{}');
    writeFileSync(join(regime, 'eval', 'cbdm-s0-10500-w1.6.json'), '');  // not an evaluation directory
    const dir = join(tmp, 'study');
    const r = study(['--dataset', 'fashion-mnist-lt', '--out', dir, '--seeds', '0,1', '--methods', 'ddpm,cbdm', '--reuse', regime], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.filter((c) => c.includes(' train ')), [], 'a reused run is never trained here');
    const evals = r.calls.filter((c) => c.includes('demo-study.ts'));
    assert.deepEqual(evals.map((c) => `${/ (\S+)$/.exec(c)![1]} ${/--omega (\S+)/.exec(c)![1]} ${/--out (\S+)/.exec(c)![1]}`), [
      `${join(regime, 'cbdm-s0')} 1.6 ${join(dir, 'eval')}`, `${join(regime, 'cbdm-s0')} 0.8 ${join(dir, 'eval')}`,
    ]);
    assert.ok(evals.every((c) => c.includes('--per-class 200 --sampler-steps 50 --eta 1 --clip none --seed 1 --steps 10500')));
    assert.match(r.stderr, /3 job\(s\) wait on runs outside/);  // ddpm-s1 at 0.8, cbdm-s1 at 1.6 and 0.8
    assert.equal(existsSync(join(regime, 'locks')), false, 'nothing written into the reused study');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('compare-study.sh: a protocol.json written before "methods" was recorded counts as all six methods when a start adds one', { skip: flock ? false : 'flock not found' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-compare-legacy-'));
  try {
    const dir = join(tmp, 'study');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'protocol.json'), '{"dataset": "shapes10-lt", "steps": 2000, "equalOmega": 0.8, "publishedOmega": {"ddpm": 0.8}}\n');
    const r = study(['--dataset', 'shapes10-lt', '--out', dir, '--seeds', '0', '--methods', 'cm-l0.1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const proto = JSON.parse(readFileSync(join(dir, 'protocol.json'), 'utf8')) as { methods: string[] };
    assert.deepEqual(proto.methods, ['ddpm', 'cbdm', 't2h', 'coral', 'cbdm-coral', 'cm', 'cm-l0.1']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('compare-study.sh: an unknown method or dataset is one clear line and exit 2', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-compare-bad-'));
  try {
    const m = study(['--dataset', 'shapes10-lt', '--out', join(tmp, 's'), '--methods', 'ddpm,coral-cm'], tmp);
    assert.equal(m.status, 2);
    assert.match(m.stderr, /unknown method 'coral-cm' \(ddpm, cbdm, t2h, coral, cbdm-coral, cm, cm-l0\.1\)/);
    const d = study(['--dataset', 'cifar10-lt', '--out', join(tmp, 's')], tmp);
    assert.equal(d.status, 2);
    assert.match(d.stderr, /--dataset must be shapes10-lt or fashion-mnist-lt \(got 'cifar10-lt'\)/);
    assert.deepEqual([...m.calls, ...d.calls], []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('regime-study.sh on the shared machinery: its job list (6 runs, finals at the published ω, the downstream classifiers, equal ω, early checkpoints at ω 0.8 and 1.6 for both methods)', { skip: flock ? false : 'flock not found' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-regime-study-'));
  try {
    const dir = join(tmp, 'regime');
    const r = study([dir, '1'], tmp, 'regime-study.sh');
    assert.equal(r.status, 0, r.stderr);
    const recipe = '--dataset fashion-mnist-lt --max-per-class 100 --imb 0.05 --image-size 16 --preset tiny --steps 10500 --batch 32 --lr 0.001 --warmup 100 --ema-decay 0.995 --ckpt-every 1500 --keep-ckpts 0 --log-every 50 --quiet';
    assert.deepEqual(r.calls.filter((c) => c.includes(' train ')).map((c) => c.replace(/ --out .*/, '')),
      ['ddpm --seed 0', 'cbdm --seed 0', 'ddpm --seed 1', 'cbdm --seed 1', 'ddpm --seed 2', 'cbdm --seed 2'].map((m) => `bin/cbdm.mjs train --method ${m} ${recipe}`));
    const jobs = r.calls.filter((c) => !c.includes(' train ')).map((c) => c.includes('classify')
      ? `classify ${/--augment-with \S+\/eval\/([^/]+)\//.exec(c)?.[1] ?? 'real'} ${/--seed (\d+)/.exec(c)![1]}`
      : `eval ${/\/([^/ ]+)$/.exec(c)![1]} ${/--steps (\d+)/.exec(c)![1]} ${/--omega (\S+)/.exec(c)![1]}`);
    assert.equal(jobs.length, 57);
    assert.deepEqual(jobs.slice(0, 9), ['eval ddpm-s0 10500 0.8', 'eval cbdm-s0 10500 1.6', 'eval ddpm-s1 10500 0.8', 'eval cbdm-s1 10500 1.6',
      'eval ddpm-s2 10500 0.8', 'eval cbdm-s2 10500 1.6', 'classify real 0', 'classify ddpm-s0-10500-w0.8 0', 'classify cbdm-s0-10500-w1.6 0']);
    assert.deepEqual(jobs.slice(15, 17), ['eval ddpm-s0 10500 1.6', 'eval cbdm-s0 10500 0.8']);
    assert.deepEqual(jobs.slice(43, 45), ['eval ddpm-s2 6000 0.8', 'eval cbdm-s2 6000 1.6']);
    // then the early checkpoints at the other method's ω, so both methods meet at ω 0.8 and 1.6
    assert.deepEqual(jobs.slice(45, 47), ['eval ddpm-s0 3000 1.6', 'eval cbdm-s0 3000 0.8']);
    assert.deepEqual(jobs.slice(-2), ['eval ddpm-s2 6000 1.6', 'eval cbdm-s2 6000 0.8']);
    assert.ok(r.calls.filter((c) => c.includes('demo-study.ts')).every((c) => c.includes('--per-class 200 --sampler-steps 50 --eta 1 --clip none --seed 1')));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('compare-report: mean ± sd over seeds per group and ω policy, method − DDPM with the pooled sd, what is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cbdm-compare-report-'));
  try {
    writeFileSync(join(dir, 'protocol.json'), JSON.stringify({ dataset: 'shapes10-lt', steps: 2000, equalOmega: 0.8, publishedOmega: { ddpm: 0.8, cbdm: 1.6, t2h: 1.5, coral: 0.8, 'cbdm-coral': 1.6, cm: 0.8 }, train: 'T', eval: 'E', reuse: null }));
    const put = (name: string, fewFid: number, fewRecall: number) => {
      mkdirSync(join(dir, 'eval', name), { recursive: true });
      const g = (fid: number, recall: number) => ({ fid, precision: 0.5, recall, accuracy: 0.9, nn_ratio: 1 });
      writeFileSync(join(dir, 'eval', name, 'eval.json'), JSON.stringify({ overall: g(1, 0.9), groups: { many: g(2, 0.8), medium: g(3, 0.7), few: g(fewFid, fewRecall) } }));
    };
    put('ddpm-s0-2000-w0.8', 10, 0.4); put('ddpm-s1-2000-w0.8', 12, 0.6);
    put('cbdm-s0-2000-w0.8', 7, 0.5); put('cbdm-s1-2000-w0.8', 9, 0.7); put('cbdm-s0-2000-w1.6', 8, 0.3);
    put('cbdm-coral-s0-2000-w1.6', 5, 0.5);
    put('ddpm-s0-1000-w0.8', 99, 0.1);  // another budget: not in the protocol's tables
    const { markdown, summary } = compareReport(dir, { seeds: [0, 1] });
    assert.match(markdown, /\| Few \| DDPM \| 0\.8 \| 0, 1 \| 11\.00 ± 1\.41 \| 0\.50 ± 0\.00 \| 0\.50 ± 0\.14 \|/);
    assert.match(markdown, /\| Few \| CBDM \| 1\.6 \| 0 \| 8\.00 \(1 seed\) \|/);
    assert.match(markdown, /\| Few \| CBDM \+ CORAL \| 1\.6 \| 0 \| 5\.00 \(1 seed\) \|/);
    assert.match(markdown, /\| Many \| T2H \| 1\.5 \| not yet measured \|/);
    // CBDM − DDPM at ω 0.8: ΔFID −3 with pooled sd √((2 + 2)/2) = 1.41, Δrecall +0.1 with 0.14.
    assert.match(markdown, /\| CBDM \| 2 \/ 2 \| -3\.00 \(1\.41\) \| 0\.10 \(0\.14\) \| 0\.00 \(0\.00\) \| 0\.00 \(0\.00\) \|/);
    assert.ok(!markdown.includes('99.00'));
    const missing = summary.missing as string[];
    assert.ok(missing.includes('cbdm-s1 ω 1.6') && missing.includes('t2h-s0 ω 1.5') && missing.includes('cbdm-coral-s0 ω 0.8'));
    assert.ok(!missing.includes('ddpm-s1 ω 0.8') && !missing.includes('cbdm-s0 ω 1.6'));
    // A study that runs some of the methods (protocol.json "methods", or --methods): the others are
    // neither rows nor missing.
    const some = compareReport(dir, { seeds: [0, 1], methods: ['ddpm', 'cbdm', 'cbdm-coral'] });
    assert.ok(!some.markdown.includes('T2H') && !some.markdown.includes('CM (approximate)'));
    assert.ok(!(some.summary.missing as string[]).some((m) => m.startsWith('t2h') || m.startsWith('cm')));
    assert.match(some.markdown, /\| Few \| CBDM \+ CORAL \| 1\.6 \| 0 \| 5\.00 \(1 seed\) \|/);
    assert.throws(() => compareReport(dir, { methods: ['ddpm', 'nope'] }), /unknown method 'nope'/);
    // A method name with a dot (CM at λ 0.1) is read from its evaluation directories like any other.
    put('cm-l0.1-s0-2000-w0.8', 6, 0.9); put('cm-l0.1-s1-2000-w0.8', 8, 0.7);
    const cm = compareReport(dir, { seeds: [0, 1], methods: ['ddpm', 'cm-l0.1'] });
    assert.match(cm.markdown, /\| Few \| CM λ 0\.1 \(approximate\) \| 0\.8 \| 0, 1 \| 7\.00 ± 1\.41 \|/);
    assert.ok(!cm.markdown.includes('ω sweep'), 'two ω evaluated: no sweep tables');
    // An ω sweep (a third ω evaluated): per-ω tables, and each method at its ω of lowest all-class
    // domain-FID among the ω with every seed (DDPM: ω 0 here, overall FID 0.5 < 1).
    const g = (fid: number, recall: number) => ({ fid, precision: 0.5, recall, accuracy: 0.9, nn_ratio: 1 });
    for (const sd of [0, 1]) {
      mkdirSync(join(dir, 'eval', `ddpm-s${sd}-2000-w0`), { recursive: true });
      writeFileSync(join(dir, 'eval', `ddpm-s${sd}-2000-w0`, 'eval.json'), JSON.stringify({ overall: g(0.5, 0.9), groups: { many: g(2, 0.8), medium: g(3, 0.7), few: g(4 + sd, 0.95) } }));
    }
    const sw = compareReport(dir, { seeds: [0, 1], methods: ['ddpm', 'cbdm'] });
    assert.match(sw.markdown, /#### ω sweep: Few recall[^\n]*\n\n\| method \| ω 0 \| ω 0\.8 \| ω 1\.6 \|/);
    assert.match(sw.markdown, /\| DDPM \| 0\.95 ± 0\.00 \| 0\.50 ± 0\.14 \| – \|/);
    assert.match(sw.markdown, /\| CBDM \| – \| 0\.60 ± 0\.14 \| 0\.30 \(1 seed\) \(seeds 0\) \|/);
    assert.match(sw.markdown, /\| DDPM \| 0 \| 0, 1 \| 0\.50 ± 0\.00 \| 4\.50 ± 0\.71 \| 0\.95 ± 0\.00 \|/);
    const best = (sw.summary.sweep as { bestOmegaByAllClassFid: Array<{ method: string; omega: number }> }).bestOmegaByAllClassFid;
    assert.deepEqual(best.map((b) => [b.method, b.omega]), [['ddpm', 0], ['cbdm', 0.8]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
