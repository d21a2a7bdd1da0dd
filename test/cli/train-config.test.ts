import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { effectiveTrainConfig, type TrainCliOptions } from '../../src/cli/train.ts';
import { readAbslFlagfile } from '../../src/train/config-file.ts';
import { defaultTrainConfig } from '../../src/train/config.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { CBDM } from './source-cli.ts';

const cli = (...args: string[]) => spawnSync(process.execPath, [...CBDM, ...args], { encoding: 'utf8' });
const savedTrain = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).train;

test('cbdm train --config: the file is honoured, flags override it, config.json records the result', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-config-'));
  const yaml = join(tmp, 'run.yaml');
  writeFileSync(yaml, [
    '# a micro run', 'method: ddpm', 'steps: 3', 'batch: 2', 'imageSize: 16', 'lr: 0.0005', 'label-drop: 0.25', 'logEvery: 1',
    'model: {ch: 32, chMult: [1], attn: [], numResBlocks: 1}', '',
  ].join('\n'));
  const out = join(tmp, 'run');
  const r = cli('train', '--config', yaml, '--steps', '2', '--seed', '7', '--out', out, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const t = savedTrain(out);
  assert.equal(t.steps, 2, 'flag --steps overrides the file');
  assert.equal(t.seed, 7);
  assert.equal(t.batch, 2, 'the file\'s batch is kept (the bug: unset flags reset it to 64)');
  assert.equal(t.method, 'ddpm');
  assert.equal(t.lr, 0.0005);
  assert.equal(t.labelDropProb, 0.25, 'flag-style key label-drop maps to labelDropProb');
  assert.equal(t.warmup, defaultTrainConfig('ddpm').warmup, 'unset everywhere: the default');
  assert.deepEqual(t.model, { ch: 32, chMult: [1], attn: [], numResBlocks: 1 });
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2, 'trained the 2 steps of the flag');

  // a run's own config.json works as --config and reproduces its settings
  const again = effectiveTrainConfig({ config: join(out, 'config.json'), out: join(tmp, 'again') } as TrainCliOptions);
  assert.deepEqual(again.cfg, t);
});

test('cbdm train --flagfile: the published absl flag file maps onto cbdm settings', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-flagfile-'));
  const file = join(tmp, 'flagfile.txt');
  // as written by the published main.py (FLAGS.flags_into_string), cut down
  writeFileSync(file, [
    '--T=1000', '--attn=0', '--batch_size=2', '--beta_1=0.0001', '--beta_T=0.02', '--cb', '--ch=32', '--ch_mult=1',
    '--conditional', '--dropout=0.0', '--ema_decay=0.999', '--noeval', '--nofid_use_torch', '--grad_clip=1.0', '--img_size=16',
    `--logdir=${join(tmp, 'logs')}`, '--lr=0.0002', '--num_res_blocks=1', '--num_workers=4', '--omega=1.6', '--save_step=2',
    '--tau=0.5', '--total_steps=2', '--train', '--var_type=fixedlarge', '--warmup=1', '# a comment', '',
  ].join('\n'));
  const r = cli('train', '--flagfile', file, '--dataset', 'shapes10-lt', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /ignored: .*num_workers/);
  const t = savedTrain(join(tmp, 'logs'));
  assert.equal(t.method, 'cbdm');
  assert.equal(t.tau, 0.5);
  assert.equal(t.batch, 2);
  assert.equal(t.steps, 2);
  assert.equal(t.imageSize, 16);
  assert.equal(t.emaDecay, 0.999);
  assert.equal(t.ckptEvery, 2);
  assert.equal(t.dataset, 'shapes10-lt', 'the flag overrides the file');
  assert.deepEqual(t.model, { ch: 32, chMult: [1], attn: [0], numResBlocks: 1 });

  const lt = join(tmp, 'lt.txt');
  writeFileSync(lt, '--data_type=cifar100lt\n--imb_factor=0.02\n--ch_mult=1,2\n--ch_mult=2\n--finetune\n--finetuned_logdir=base\n--ckpt_step=200000\n');
  const f = readAbslFlagfile(lt).values;
  assert.equal(f.dataset, 'cifar100-lt');
  assert.equal(f.numpyCompat, true, 'the published LT subset');
  assert.equal(f.imb, 0.02);
  assert.deepEqual(f.model?.chMult, [1, 2, 2]);
  assert.equal(f.finetuneFrom, join('base', 'ckpt_200000.pt'));
  assert.equal(f.prior, 'uniform');

  // the schedule flags (main.py T, beta_1, beta_T) are settings, not fixed values
  const sched = join(tmp, 'sched.txt');
  writeFileSync(sched, '--T=100\n--beta_1=0.001\n--beta_T=0.03\n');
  const v = readAbslFlagfile(sched).values;
  assert.deepEqual([v.diffusionSteps, v.betaStart, v.betaEnd], [100, 0.001, 0.03]);

  for (const [line, re] of [
    ['--noconditional', /:1: --conditional=false cannot be honoured: cbdm trains class-conditional models only/],
    ['--augm', /:1: --augm=true cannot be honoured: ADA augmentation/],
    ['--batch_size=abc', /:1: --batch_size: expected a number, got 'abc'/],
    ['--bacth_size=4', /:1: --bacth_size: unknown flag/],
    ['batch_size 4', /:1: expected one flag like --batch_size=48/],
    ['--data_type=mnist', /unknown data type 'mnist'/],
  ] as const) {
    writeFileSync(file, `${line}\n`);
    assert.throws(() => readAbslFlagfile(file), (e: Error) => e.message.startsWith(file) && re.test(e.message), line);
  }
});

test('a bad value from --config or --flagfile names the file and its key, not the flag; flags are still named as flags', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-config-key-'));
  const write = (name: string, text: string) => { const f = join(tmp, name); writeFileSync(f, text); return f; };
  const fails = (o: Partial<TrainCliOptions>, message: string) =>
    assert.throws(() => effectiveTrainConfig({ out: 'x', ...o } as TrainCliOptions), (e: Error) => e.message === message, message);
  const json = write('lr.json', '{"lr": -1}');
  fails({ config: json }, `${json}: 'lr' must be a non-negative number, got -1`);
  const yaml = write('drop.yaml', 'label-drop: 2\n');
  fails({ config: yaml }, `${yaml}: 'label-drop' must be in [0, 1], got 2`);
  fails({ config: yaml, labelDrop: 0.2 }, `${yaml}: 'label-drop' must be in [0, 1], got 2`);  // checked even where a flag overrides it
  // a setting that does not apply, and a rule between two settings
  const scope = write('scope.json', '{"method": "ddpm", "t2hMode": "full"}');
  fails({ config: scope }, `${scope}: 't2hMode' applies to 'method' t2h only (this run is ddpm)`);
  const t2h = write('t2h.json', '{"t2hMode": "full"}');
  fails({ config: t2h, method: 'ddpm' }, `${t2h}: 't2hMode' applies to --method t2h only (this run is ddpm)`);
  const betas = write('betas.yaml', 'betaStart: 0.01\n');
  fails({ config: betas, betaEnd: 0.001 }, `${betas}: 'betaStart' 0.01 is above --beta-end 0.001: the linear schedule's β rises from β_1 to β_T`);
  // the flags alone are wrong: named as flags, without the file
  const ok = write('ok.json', '{"steps": 3}');
  fails({ config: ok, lr: -2 }, '--lr must be a non-negative number, got -2');
  fails({ config: ok, betaStart: 0.01, betaEnd: 0.001 }, '--beta-start 0.01 is above --beta-end 0.001: the linear schedule\'s β rises from β_1 to β_T');
  // the published flag file: its line and flag
  const flags = write('flags.txt', '--batch_size=4\n--total_steps=0\n');
  fails({ flagfile: flags }, `${flags}:2: --total_steps must be a positive integer, got 0`);
  const flagBetas = write('betas.txt', '--beta_1=0.01\n--beta_T=0.001\n');
  fails({ flagfile: flagBetas }, `${flagBetas}: --beta_1 0.01 is above --beta_T 0.001: the linear schedule's β rises from β_1 to β_T`);
});

test('the fine-tune prior: config.json records the uniform y′ the fine-tune uses; --prior train with it is an error', () => {
  const base = { out: 'x', dataset: 'shapes10-lt' } as TrainCliOptions;
  assert.equal(effectiveTrainConfig({ ...base, finetuneFrom: 'runs/ddpm' }).cfg.prior, 'uniform');
  assert.equal(effectiveTrainConfig(base).cfg.prior, 'train');
  assert.throws(() => effectiveTrainConfig({ ...base, finetuneFrom: 'runs/ddpm', prior: 'train' }), /--prior train cannot be combined with --finetune-from/);
});

test('train --help shows the default of every setting', async () => {
  const train = (await buildProgram()).commands.find((c) => c.name() === 'train')!;
  const help = train.helpInformation();
  const settings = train.options.filter((o) => !['--config', '--flagfile', '--out', '--resume', '--quiet'].includes(o.long!));
  assert.ok(settings.length >= 25);
  for (const o of settings) {
    const block = help.slice(help.indexOf(o.flags), help.indexOf('\n  -', help.indexOf(o.flags) + 1));
    assert.match(block.replace(/\s+/g, ' '), /default: /, `${o.long} shows no default`);
  }
});
