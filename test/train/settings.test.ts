/**
 * The settings table (src/train/settings.ts) and what is derived from it: defaults, validation
 * naming flags or fields, config files, config.json and the loading of older run configs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.ts';
import {
  DEFAULT_LOSS, defaultTrainConfig, lossConfigOf, resolveTrainConfig, scheduleSettingsOf, trainConfigJson, TRAIN_HELP, type TrainConfig,
} from '../../src/train/config.ts';
import { readTrainConfigFile, runSchedule, savedTrainConfig } from '../../src/train/config-file.ts';
import { defaultOf, flagName, METHODS, SETTING_KEYS, settingOf } from '../../src/train/settings.ts';
import { PUBLISHED_SCHEDULE } from '../../src/diffusion/schedule.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** A run config.json committed before the schedule, T2H, CM and CORAL settings existed. */
const OLD_RUN = join(ROOT, 'assets', 'demo', 'shapes10-lt-16px-s0', 'cbdm');

test('every setting has help, a default of its own type for every method, and one flag of its own', () => {
  const flags = new Set<string>();
  for (const k of SETTING_KEYS) {
    assert.ok(TRAIN_HELP[k].length > 10, `${k}: help`);
    const f = flagName(k);
    if (f !== null) {
      assert.ok(!flags.has(f), `flag --${f} twice`);
      flags.add(f);
    }
  }
  for (const m of METHODS) {
    const c = defaultTrainConfig(m);
    assert.deepEqual(Object.keys(c), SETTING_KEYS);
    assert.deepEqual(resolveTrainConfig({ method: m }), c, `${m}: the defaults pass their own checks`);
  }
  // The published recipe, each default in one place (the table): γ, τ, p_drop, batch and ω by method.
  assert.deepEqual([defaultOf('gamma', 'cbdm'), defaultOf('tau', 'cbdm'), defaultOf('labelDropProb', 'cbdm')], [0.25, 1, 0.1]);
  assert.deepEqual(METHODS.map((m) => defaultOf('batch', m)), [64, 48, 128, 64]);
  assert.deepEqual(METHODS.map((m) => defaultOf('omegaEval', m)), [0.8, 1.6, 1.5, 0.8]);
  assert.deepEqual(DEFAULT_LOSS, lossConfigOf(defaultTrainConfig('cbdm')));
  assert.equal(DEFAULT_LOSS.gamma, 0.25);
  assert.deepEqual(scheduleSettingsOf(defaultTrainConfig()), PUBLISHED_SCHEDULE);
});

test('cbdm train --help is derived from the table: one option per flagged setting, in table order', async () => {
  const train = (await buildProgram()).commands.find((c) => c.name() === 'train')!;
  const longs = train.options.map((o) => o.long!).filter((l) => !['--config', '--flagfile', '--out', '--resume', '--quiet'].includes(l));
  const want = SETTING_KEYS.flatMap((k) => {
    const f = flagName(k);
    return f === null ? [] : [defaultOf(k, 'cbdm') === true ? `--no-${f}` : `--${f}`];
  });
  assert.deepEqual(longs, want);
  const help = train.helpInformation().replace(/\s+/g, ' ');
  assert.match(help, /--diffusion-steps <T> T, the number of diffusion steps .* \(default: 1000\)/);
  assert.match(help, /--beta-schedule <kind> .* \(default: linear\) \(choices: "linear", "cosine"\)/);
  assert.match(help, /--gamma <f> CBDM γ: weight of the commitment term L_com \(default: 0\.25\)/);
});

test('errors name the flag for the CLI and the field for the library, one line each', () => {
  const cases: Array<[Partial<TrainConfig>, RegExp, RegExp]> = [
    [{ gamma: -1 }, /^--gamma must be a non-negative number, got -1$/, /^gamma must be a non-negative number, got -1$/],
    [{ labelDropProb: 2 }, /^--label-drop must be in \[0, 1\], got 2$/, /^labelDropProb must be in \[0, 1\], got 2$/],
    [{ steps: '5' as unknown as number }, /^--steps must be an integer, got the string "5"$/, /^steps must be an integer, got the string "5"$/],
    [{ diffusionSteps: 1 }, /^--diffusion-steps must be an integer ≥ 2, got 1$/, /^diffusionSteps must be an integer ≥ 2, got 1$/],
    [{ betaEnd: 1 }, /^--beta-end must be in \(0, 1\), got 1$/, /^betaEnd must be in \(0, 1\), got 1$/],
    [{ betaStart: 0.03 }, /^--beta-start 0\.03 is above --beta-end 0\.02/, /^betaStart 0\.03 is above betaEnd 0\.02/],
    [{ betaSchedule: 'cosine', betaEnd: 0.03 }, /^--beta-end applies to --beta-schedule linear only \(this run is cosine\)$/, /^betaEnd applies to betaSchedule linear only/],
    [{ betaSchedule: 'sigmoid' as 'linear' }, /^--beta-schedule must be one of linear, cosine, got the string "sigmoid"$/, /^betaSchedule must be one of/],
    [{ method: 'ddpm', t2hMode: 'full' }, /^--t2h-mode applies to --method t2h only \(this run is ddpm\)$/, /^t2hMode applies to method t2h only/],
    [{ coralTemp: 0.2 }, /^--coral-temp applies with --coral only; add --coral$/, /^coralTemp applies with coral only; add coral$/],
    [{ model: { chans: 3 } as never }, /^unknown key '--model\.chans'/, /^unknown key 'model\.chans'/],
  ];
  for (const [partial, flags, fields] of cases) {
    assert.throws(() => resolveTrainConfig(partial, 'flags'), (e: Error) => e.name === 'CbdmError' && flags.test(e.message) && !e.message.includes('\n'), `${JSON.stringify(partial)} (flags)`);
    assert.throws(() => resolveTrainConfig(partial, 'fields'), (e: Error) => e.name === 'CbdmError' && fields.test(e.message), `${JSON.stringify(partial)} (fields)`);
  }
  assert.throws(() => resolveTrainConfig({ gama: 0.5 } as Partial<TrainConfig>, 'fields'), /^CbdmError: unknown setting 'gama'; the settings are method, preset/);
  // a switch's settings at their defaults, and a schedule kind's own fields, are fine
  assert.equal(resolveTrainConfig({ betaSchedule: 'cosine', betaEnd: 0.02 }).betaSchedule, 'cosine');
  assert.equal(resolveTrainConfig({ diffusionSteps: 100, betaStart: 1e-3, betaEnd: 0.05 }).diffusionSteps, 100);
});

test('--config: schedule keys as fields or flag names; a key the table lacks names the file and the key', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cbdm-settings-'));
  const file = join(tmp, 'sched.yaml');
  writeFileSync(file, 'diffusionSteps: 100\nbeta-end: 0.03\nbeta-schedule: linear\n');
  assert.deepEqual(readTrainConfigFile(file).values, { diffusionSteps: 100, betaEnd: 0.03, betaSchedule: 'linear' });
  writeFileSync(file, 'betaEnds: 0.03\n');
  assert.throws(() => readTrainConfigFile(file), (e: Error) => e.message.startsWith(`${file}: unknown key 'betaEnds' (did you mean 'betaEnd'?)`));
  writeFileSync(file, 'diffusionSteps: 100.5\n');
  assert.throws(() => readTrainConfigFile(file), (e: Error) => e.message === `${file}: 'diffusionSteps' must be an integer, got number 100.5`);
});

test('a committed config.json from before the newer settings loads with their defaults (the published schedule)', () => {
  const path = join(OLD_RUN, 'config.json');
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { train: Record<string, unknown> };
  for (const k of ['diffusionSteps', 'betaSchedule', 'betaStart', 'betaEnd', 't2hMode', 'cmLambda', 'coral', 'maxPerClass']) {
    assert.ok(!(k in saved.train), `${k} is new to this file`);
  }
  const c = savedTrainConfig(path, saved.train);
  for (const [k, v] of Object.entries(saved.train)) assert.deepEqual(c[k as keyof TrainConfig], v, `${k} kept`);
  assert.deepEqual(scheduleSettingsOf(c), { kind: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 });
  assert.deepEqual([c.t2hMode, c.cmLambda, c.coral, c.maxPerClass], ['t2h', 1, false, null]);
  assert.deepEqual(runSchedule(OLD_RUN, 1000), PUBLISHED_SCHEDULE);
  assert.throws(() => runSchedule(OLD_RUN, 100), /T = 1000 steps but its UNet was built for T = 100/);
  // written back, a config carries every setting in table order
  assert.deepEqual(Object.keys(trainConfigJson(c)), SETTING_KEYS);
  assert.throws(() => savedTrainConfig(path, { ...saved.train, gama: 0.5 }), (e: Error) => e.message.startsWith(`${path}: unknown key 'gama' (did you mean 'gamma'?)`));
  assert.throws(() => savedTrainConfig(path, { ...saved.train, steps: 0 }), (e: Error) => e.message === `${path}: 'steps' must be a positive integer, got 0`);
});

test('the table\'s kinds: flags of every setting but the model overrides, switches on by default become --no-…', () => {
  assert.equal(flagName('model'), null);
  assert.equal(flagName('labelDropProb'), 'label-drop');
  assert.equal(settingOf('cfg').kind, 'boolean');
  assert.equal(defaultOf('cfg', 'ddpm'), true);
});
