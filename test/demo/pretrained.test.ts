/**
 * The shipped pretrained demo runs (assets/demo/): they are what `cbdm demo --train` trains (same
 * recipe as the demo preset), they load, and the default demo path samples, evaluates and reports
 * from them without training.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { demoPreset, pretrainedDemoDir, pretrainedSteps, runDemo, summarize } from '../../src/demo/demo.ts';
import { useBackend } from '../../src/engine/backends.ts';
import { loadRunModel } from '../../src/models/load.ts';
import { CLASS_GROUPS } from '../../src/data/groups.ts';

const shipped = pretrainedDemoDir('shapes10-lt', 16, 0);

test('pretrained demo runs are shipped for shapes10-lt and follow the demo recipe exactly', () => {
  assert.ok(shipped, 'assets/demo/shapes10-lt-16px-s0/{ddpm,cbdm} must be present');
  const p = demoPreset(false);
  const steps = pretrainedSteps(shipped);
  for (const method of ['ddpm', 'cbdm'] as const) {
    const cfg = JSON.parse(readFileSync(join(shipped, method, 'config.json'), 'utf8')) as { train: Record<string, unknown>; provenance: string };
    const t = cfg.train;
    assert.equal(t.method, method);
    assert.equal(t.steps, steps, 'both models have the same budget');
    for (const [k, v] of Object.entries({ preset: 'tiny', dataset: 'shapes10-lt', imageSize: p.imageSize, batch: p.batch, lr: p.lr, warmup: p.warmup, emaDecay: p.emaDecay, seed: 0, omegaEval: method === 'cbdm' ? p.omegaCbdm : p.omegaDdpm })) {
      assert.equal(t[k], v, `${method} ${k}`);
    }
    assert.match(cfg.provenance, /cbdm demo --train/);
    const rows: Array<{ step: number }> = readFileSync(join(shipped, method, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });
    assert.equal(rows.at(-1)!.step, steps, 'the loss curve ends at the shipped step');
    const m = loadRunModel(join(shipped, method), useBackend());
    assert.equal(m.net.config.imageSize, 16);
    assert.equal(m.net.config.numClasses, 10);
  }
});

test('cbdm demo (pretrained): samples, evaluates and reports without training', { timeout: 300_000 }, async () => {
  assert.ok(shipped);
  useBackend();
  const out = mkdtempSync(join(tmpdir(), 'cbdm-demo-'));
  try {
    const r = await runDemo({ ...demoPreset(false), perClass: 4, samplerSteps: 4, out, dataset: 'shapes10-lt', pretrained: true, progress: false });
    assert.ok(existsSync(r.report));
    const html = readFileSync(r.report, 'utf8');
    assert.match(html, /shipped pretrained runs/);
    assert.equal(r.sampler, join(out, 'sampler.html'), 'the in-browser sampler is written beside the report');
    assert.match(readFileSync(r.sampler!, 'utf8'), /"label":"DDPM".*"label":"CBDM"/s);
    for (const method of ['ddpm', 'cbdm'] as const) {
      const ev = r.runs[method].eval;
      assert.equal(ev.perClass.length, 10);
      const shape = ev.overall.shape_accuracy;
      assert.ok(typeof shape === 'number' && shape >= 0 && shape <= 1, `${method} shape accuracy ${shape}`);
      for (const g of CLASS_GROUPS) assert.ok(ev.groups[g], `${method} group ${g}`);
      assert.ok(existsSync(join(out, method, 'eval.json')));
      assert.ok(!existsSync(join(out, method, 'checkpoints')), 'nothing was trained');
    }
    assert.equal(r.summary.length, 4);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the demo summary names the better method per metric, and calls differences within 1 % level', () => {
  const ev = (fid: number, recall: number) => ({
    protocol: { sampler: 'ddim' as const, steps: 25, omega: 1, nPerClass: 1, featureExtractor: 'x' },
    overall: { fid, recall }, groups: { many: { fid, recall }, medium: { fid, recall }, few: { fid, recall } }, perClass: [],
  });
  const lines = summarize(ev(3.827, 0.873), ev(3.826, 0.977));
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /few .*domain-FID 3\.827 → 3\.826 \(level\).*recall 0\.873 → 0\.977 \(CBDM better\)/);
  assert.match(summarize(ev(0.28, 0.95), ev(0.59, 0.90))[0]!, /\(DDPM better\).*\(DDPM better\)/);
});
