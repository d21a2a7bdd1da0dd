/**
 * The sampler page's node side and its sampling maths: the page's class sampler equals
 * `generate` bit for bit on the js backend (so the browser test can compare against node), the
 * page inlines weights up to the stated limit and says what to do above it, `cbdm report` writes
 * sampler.html beside the report, and `cbdm serve` serves the page and weights on 127.0.0.1 only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBackend } from '../../src/engine/backends.ts';
import { loadWeightsFile } from '../../src/models/load.ts';
import { generate } from '../../src/diffusion/generate.ts';
import { resolveSampling } from '../../src/diffusion/samplers.ts';
import { publishedScheduleFor, scheduleOf } from '../../src/diffusion/schedule.ts';
import { guidedEpsModel, sampleClass, unetFromSafetensors } from '../../src/report/sampler/sample.ts';
import { renderSamplerPage, samplerModelOf, SAMPLER_INLINE_LIMIT_BYTES, writeSamplerPageBeside } from '../../src/report/sampler-html.ts';
import { startSamplerServer } from '../../src/report/sampler-server.ts';
import { CbdmError } from '../../src/util/errors.ts';
import { SAMPLER_TEST_CONFIG, writeSamplerTestRun } from './sampler-run.ts';

const root = mkdtempSync(join(tmpdir(), 'cbdm-sampler-page-'));
const run = join(root, 'run');
writeSamplerTestRun(run);

test('the page sampler equals generate() exactly on the js backend (ddim η = 0.5 guided, dpmpp-2m unguided)', async () => {
  const be = useBackend('js');
  const ref = loadWeightsFile(join(run, 'ema.safetensors'), be).net;
  const net = unetFromSafetensors(SAMPLER_TEST_CONFIG, readFileSync(join(run, 'ema.safetensors')), be, 'test');
  const sched = scheduleOf(publishedScheduleFor(SAMPLER_TEST_CONFIG.T));
  for (const r of [{ sampler: 'ddim' as const, eta: 0.5, omega: 1.5, cls: 2 }, { sampler: 'dpmpp-2m' as const, eta: 0, omega: 0, cls: 0 }]) {
    const want = await generate(ref, sched, { n: 2, labels: { kind: 'class', cls: r.cls }, sampler: r.sampler, steps: 3, eta: r.eta, omega: r.omega, variance: 'fixedlarge', clip: 'none', batch: 2, seed: 5 });
    let steps = 0;
    const got = await sampleClass(net, sched, guidedEpsModel(net, r.omega, async (t) => Float32Array.from(t.toArray())), { ...r, n: 2, steps: 3, seed: 5, onStep: () => steps++ });
    assert.deepEqual(got, want.x, `${r.sampler}: page sampler and generate() differ`);
    assert.equal(steps, resolveSampling(r.sampler, 3, undefined, r.eta, r.omega, sched).points, 'onStep after every grid point');
  }
  await assert.rejects(sampleClass(net, sched, guidedEpsModel(net, 0, async (t) => Float32Array.from(t.toArray())), { cls: 3, n: 1, sampler: 'ddim', steps: 2, eta: 0, omega: 0, seed: 0 }), /class 3 is out of range: this model has 3 classes/);
});

test('sampler.html inlines the weights and the config, escapes the page data, and refuses what it cannot show', () => {
  const m = samplerModelOf(run, 'a </script><b>');
  assert.equal(m.weights.kind, 'inline');
  assert.deepEqual(m.classNames, ['ring', 'bar', 'dot']);
  assert.equal(m.omega, 1.5);
  const html = renderSamplerPage([m], 'console.log("</script>")', 'T <b>');
  assert.equal(html.match(/<\/script>/g)!.length, 2, 'only the two script elements close');
  assert.match(html, /<title>T &lt;b&gt;<\/title>/);
  const embedded = JSON.parse(/<script id="cbdm-models" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
  assert.equal(embedded[0].label, 'a </script><b>');
  assert.equal(Buffer.from(embedded[0].weights.base64, 'base64').equals(readFileSync(join(run, 'ema.safetensors'))), true);

  const big = join(root, 'big');
  writeSamplerTestRun(big);
  truncateSync(join(big, 'ema.safetensors'), SAMPLER_INLINE_LIMIT_BYTES + 1);
  assert.throws(() => samplerModelOf(big, undefined), (e: unknown) => e instanceof CbdmError && /16\.0 MiB, above the 16 MiB that sampler\.html inlines; open it with 'cbdm serve --run DIR'/.test(e.message));
  assert.throws(() => samplerModelOf(join(root, 'none'), undefined), (e: unknown) => e instanceof CbdmError && /has no ema\.safetensors/.test(e.message));
  const uncond = join(root, 'uncond');
  writeSamplerTestRun(uncond);
  writeFileSync(join(uncond, 'config.json'), JSON.stringify({ train: { method: 'ddpm' }, model: { ...SAMPLER_TEST_CONFIG, numClasses: 0 } }));
  assert.throws(() => samplerModelOf(uncond, undefined), (e: unknown) => e instanceof CbdmError && /class-conditional models; this one is unconditional/.test(e.message));
});

test('cbdm report writes sampler.html beside the report when the weights fit, and says why not otherwise', async () => {
  const out = join(root, 'rep', 'report.html');
  const r = await writeSamplerPageBeside(out, [run, join(root, 'no-weights')], ['CBDM', 'x']);
  assert.equal(r.path, join(root, 'rep', 'sampler.html'));
  assert.ok(existsSync(r.path!));
  assert.match(readFileSync(r.path!, 'utf8'), /"label":"CBDM"/);
  assert.deepEqual(await writeSamplerPageBeside(out, [join(root, 'no-weights')]), { path: null, note: null });
  const tooBig = await writeSamplerPageBeside(join(root, 'rep2', 'report.html'), [join(root, 'big')]);
  assert.equal(tooBig.path, null);
  assert.match(tooBig.note!, /sampler\.html not written: .* open it with 'cbdm serve --run DIR'/);
  assert.ok(!existsSync(join(root, 'rep2', 'sampler.html')));
});

test('cbdm report links sampler.html when it wrote one beside the report, and not otherwise', async () => {
  const { runReport } = await import('../../src/cli/report.ts');
  const out = join(root, 'linked', 'report.html');
  const r = await runReport({ runs: [run], out, samplerPage: true });
  assert.equal(r.sampler, join(root, 'linked', 'sampler.html'));
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<a id="sampler-link" href="sampler\.html">Interactive sampler ↗<\/a>/);
  assert.match(html, /sampled live in <a href="sampler\.html">sampler\.html<\/a>/);
  const plain = join(root, 'unlinked', 'report.html');
  assert.equal((await runReport({ runs: [run], out: plain, samplerPage: false })).sampler, null);
  assert.doesNotMatch(readFileSync(plain, 'utf8'), /sampler-link|sampler\.html/);
  const none = join(root, 'no-weights-report', 'report.html');
  mkdirSync(join(root, 'weightless'), { recursive: true });
  for (const f of ['config.json', 'data.json']) copyFileSync(join(run, f), join(root, 'weightless', f));
  assert.equal((await runReport({ runs: [join(root, 'weightless')], out: none })).sampler, null);
  assert.doesNotMatch(readFileSync(none, 'utf8'), /sampler-link/, 'no page, no link');
});

test('cbdm serve: the page with fetched weights, the weights, 404 otherwise, on 127.0.0.1', async () => {
  const s = await startSamplerServer([run], 0, ['served']);
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(s.server.address() !== null && typeof s.server.address() === 'object' ? (s.server.address() as { address: string }).address : '', '127.0.0.1');
    const page = await (await fetch(s.url)).text();
    assert.match(page, /"weights":\{"kind":"url","url":"weights\/0\.safetensors"\}/);
    const w = await fetch(`${s.url}weights/0.safetensors`);
    assert.equal(w.status, 200);
    assert.ok(Buffer.from(await w.arrayBuffer()).equals(readFileSync(join(run, 'ema.safetensors'))));
    assert.equal((await fetch(`${s.url}weights/1.safetensors`)).status, 404);
    assert.equal((await fetch(`${s.url}../config.json`)).status, 404);
    await assert.rejects(startSamplerServer([run], Number(new URL(s.url).port)), (e: unknown) => e instanceof CbdmError && /is in use on 127\.0\.0\.1/.test(e.message));
  } finally {
    await s.close();
  }
});
