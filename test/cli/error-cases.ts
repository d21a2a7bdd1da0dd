// The bad inputs of test/cli/error-table.test.ts, run in one process through the CLI's
// `run(argv)` (spawning `node bin/cbdm.mjs` costs about a second each). Run as a script:
//   node --import tsx test/cli/error-cases.ts TMPDIR RESULTS.json [--disk]
// writes [{name, code, err, names}] for the table (or the disk-fault cases) to RESULTS.json.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { run } from '../../src/cli/main.ts';
import { encodeSafetensors, readSafetensors } from '../../src/io/safetensors.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures');
const TINY_PT = join(FIX, 'unet', 'tiny_ckpt.pt');

/** Run the CLI in-process, capturing what it prints. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const so = process.stdout.write.bind(process.stdout), se = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => { out += String(s); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { err += String(s); return true; }) as typeof process.stderr.write;
  try {
    const code = await run(argv);
    return { code, out, err };
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
}

const tmp = process.argv[2]!;
const p = (...s: string[]) => join(tmp, ...s);
const write = (name: string, text: string | Uint8Array) => { writeFileSync(p(name), text); return p(name); };
const MICRO = ['--dataset', 'shapes10-lt', '--image-size', '16', '--steps', '1', '--batch', '2', '--log-every', '1', '--quiet'];
const microYaml = 'imageSize: 16\nsteps: 1\nbatch: 2\nmodel: {ch: 32, chMult: [1], attn: [], numResBlocks: 1}\n';

/** A finished micro run, and copies of it with one file broken. */
async function makeRun(): Promise<string> {
  const cfg = write('micro.yaml', microYaml);
  const r = await cli(['train', '--config', cfg, '--out', p('run'), '--quiet', '--log-every', '1']);
  assert.equal(r.code, 0, r.err);
  return p('run');
}
function brokenCopy(name: string, file: string, content: string | Uint8Array): string {
  const dir = p(name);
  rmSync(dir, { recursive: true, force: true });
  spawnSync('cp', ['-r', p('run'), dir]);
  writeFileSync(join(dir, file), content);
  return dir;
}

interface Case { name: string; argv: () => string[]; names: RegExp; code?: number }

function cases(): Case[] {
  const file = write('a-file', 'x');
  const safetensorsAbsurd = new Uint8Array(16);
  new DataView(safetensorsAbsurd.buffer).setBigUint64(0, 1n << 60n, true);
  const ema = readSafetensors(readFileSync(p('run', 'ema.safetensors')));
  (ema.tensors.get('head.weight')!.data as Float32Array)[3] = NaN;
  const nanWeights = encodeSafetensors(ema.tensors, ema.metadata);
  return [
    // number and choice flags
    { name: 'train --steps abc', argv: () => ['train', '--steps', 'abc', '--out', p('x')], names: /--steps/ },
    { name: 'train --batch 1.5', argv: () => ['train', '--batch', '1.5', '--out', p('x')], names: /--batch/ },
    { name: 'train --lr nan', argv: () => ['train', '--lr', 'nan', '--out', p('x')], names: /--lr/ },
    { name: 'train --steps 1e999', argv: () => ['train', '--steps', '1e999', '--out', p('x')], names: /--steps/ },
    { name: 'train --steps 0', argv: () => ['train', ...MICRO, '--steps', '0', '--out', p('x')], names: /--steps must be a positive integer/ },
    { name: 'train --imb 2', argv: () => ['train', ...MICRO, '--imb', '2', '--out', p('x')], names: /--imb/ },
    { name: 'train --ema-decay 1', argv: () => ['train', ...MICRO, '--ema-decay', '1', '--out', p('x')], names: /--ema-decay/ },
    { name: 'train --label-drop -0.1', argv: () => ['train', ...MICRO, '--label-drop', '-0.1', '--out', p('x')], names: /--label-drop/ },
    { name: 'train --warmup -5', argv: () => ['train', ...MICRO, '--warmup', '-5', '--out', p('x')], names: /--warmup/ },
    { name: 'train --method gan', argv: () => ['train', '--method', 'gan', '--out', p('x')], names: /--method/ },
    { name: 'train --method cm --cm-rank-ratio 0', argv: () => ['train', ...MICRO, '--method', 'cm', '--cm-rank-ratio', '0', '--out', p('x')], names: /--cm-rank-ratio must be in \(0, 1\].*rank 0/ },
    { name: 'train --method cm --cm-rank-ratio 1.5', argv: () => ['train', ...MICRO, '--method', 'cm', '--cm-rank-ratio', '1.5', '--out', p('x')], names: /--cm-rank-ratio/ },
    { name: 'train --method cm --cm-lambda -1', argv: () => ['train', ...MICRO, '--method', 'cm', '--cm-lambda', '-1', '--out', p('x')], names: /--cm-lambda must be a finite number ≥ 0/ },
    { name: 'train --method ddpm --cm-lambda 2', argv: () => ['train', ...MICRO, '--method', 'ddpm', '--cm-lambda', '2', '--out', p('x')], names: /--cm-lambda applies to --method cm only/ },
    { name: 'train --preset huge', argv: () => ['train', '--preset', 'huge', '--out', p('x')], names: /--preset/ },
    { name: 'train --prior zipf', argv: () => ['train', '--prior', 'zipf', '--out', p('x')], names: /--prior/ },
    { name: 'train --method t2h --coral', argv: () => ['train', ...MICRO, '--method', 't2h', '--coral', '--out', p('x')], names: /--coral combines with --method ddpm or cbdm, not t2h/ },
    { name: 'train --coral-weight without --coral', argv: () => ['train', ...MICRO, '--coral-weight', '1', '--out', p('x')], names: /--coral-weight applies with --coral only/ },
    { name: 'train --coral --coral-temp 0', argv: () => ['train', ...MICRO, '--coral', '--coral-temp', '0', '--out', p('x')], names: /--coral-temp must be a positive number/ },
    { name: 'train --dataset mnist', argv: () => ['train', ...MICRO, '--dataset', 'mnist', '--out', p('x')], names: /mnist/ },
    { name: 'train without --out', argv: () => ['train', ...MICRO], names: /--out/ },
    { name: 'train --bogus', argv: () => ['train', '--bogus'], names: /--bogus/ },
    { name: 'train --out missing value', argv: () => ['train', '--out'], names: /--out/ },
    { name: 'train --batch larger than the dataset', argv: () => ['train', ...MICRO, '--batch', '100000', '--out', p('x')], names: /--batch 100000 is larger than the dataset/ },
    { name: 'train --out is a file', argv: () => ['train', ...MICRO, '--out', file], names: new RegExp(`--out ${file} is a file`) },
    { name: 'train --out under a file', argv: () => ['train', ...MICRO, '--out', join(file, 'run')], names: /a-file/ },
    { name: 'train --root missing (CIFAR)', argv: () => ['train', '--steps', '1', '--dataset', 'cifar10', '--root', p('nope'), '--out', p('x')], names: /nope/ },
    { name: 'train --root not a tar', argv: () => ['train', '--steps', '1', '--dataset', 'cifar10', '--root', write('junk.tar.gz', 'junk'), '--out', p('x')], names: /junk\.tar\.gz/ },
    { name: 'train --dataset folder:missing', argv: () => ['train', ...MICRO, '--dataset', `folder:${p('nodir')}`, '--out', p('x')], names: /nodir/ },
    { name: 'train --finetune-from missing', argv: () => ['train', ...MICRO, '--finetune-from', p('nofile.pt'), '--out', p('x')], names: /nofile\.pt/ },
    { name: 'train --finetune-from + --prior train', argv: () => ['train', ...MICRO, '--finetune-from', p('run'), '--prior', 'train', '--out', p('x')], names: /--prior train cannot be combined with --finetune-from/ },
    // config files
    { name: '--config missing', argv: () => ['train', '--config', p('none.yaml'), '--out', p('x')], names: /--config .*none\.yaml: cannot read it \(no such file\)/ },
    { name: '--config is a directory', argv: () => ['train', '--config', tmp, '--out', p('x')], names: /--config .*a directory/ },
    { name: '--config bad JSON', argv: () => ['train', '--config', write('bad.json', '{\n  "steps": 3,\n}\n'), '--out', p('x')], names: /bad\.json: invalid JSON at line 3, column 1/ },
    { name: '--config bad YAML', argv: () => ['train', '--config', write('bad.yaml', 'steps: 3\nbatch: [2\n'), '--out', p('x')], names: /bad\.yaml: invalid YAML at line \d+, column \d+/ },
    { name: '--config duplicate YAML key', argv: () => ['train', '--config', write('dup.yaml', 'steps: 3\nsteps: 4\n'), '--out', p('x')], names: /dup\.yaml: invalid YAML at line 2, column 1/ },
    { name: '--config unknown key', argv: () => ['train', '--config', write('typo.yaml', 'stpes: 3\n'), '--out', p('x')], names: /typo\.yaml: unknown key 'stpes' \(did you mean 'steps'\?\)/ },
    { name: '--config wrong type', argv: () => ['train', '--config', write('type.json', '{"batch": "48"}'), '--out', p('x')], names: /type\.json: 'batch' must be an integer, got the string "48"/ },
    { name: '--config bad model key', argv: () => ['train', '--config', write('model.yaml', 'model: {chans: 3}\n'), '--out', p('x')], names: /model\.yaml: unknown key 'model\.chans'/ },
    { name: '--config a list', argv: () => ['train', '--config', write('list.yaml', '- 1\n- 2\n'), '--out', p('x')], names: /list\.yaml: expected an object/ },
    { name: '--config out-of-range value', argv: () => ['train', '--config', write('zero.yaml', 'steps: 0\n'), '--out', p('x')], names: /zero\.yaml: 'steps' must be a positive integer/ },
    { name: '--config and --flagfile', argv: () => ['train', '--config', p('micro.yaml'), '--flagfile', p('micro.yaml'), '--out', p('x')], names: /--config or --flagfile, not both/ },
    { name: '--flagfile bad line', argv: () => ['train', '--flagfile', write('flags.txt', '--batch_size=48\nbatch 4\n'), '--out', p('x')], names: /flags\.txt:2: expected one flag/ },
    { name: '--flagfile unsupported value', argv: () => ['train', '--flagfile', write('flags2.txt', '--augm\n'), '--out', p('x')], names: /flags2\.txt:1: --augm=true cannot be honoured: ADA augmentation/ },
    { name: 'train --beta-start above --beta-end', argv: () => ['train', ...MICRO, '--beta-start', '0.05', '--out', p('x')], names: /--beta-start 0\.05 is above --beta-end 0\.02/ },
    { name: 'train --beta-schedule cosine --beta-end', argv: () => ['train', ...MICRO, '--beta-schedule', 'cosine', '--beta-end', '0.03', '--out', p('x')], names: /--beta-end applies to --beta-schedule linear only \(this run is cosine\)/ },
    { name: 'train --diffusion-steps 1', argv: () => ['train', ...MICRO, '--diffusion-steps', '1', '--out', p('x')], names: /--diffusion-steps must be an integer ≥ 2, got 1/ },
    { name: '--flagfile missing', argv: () => ['train', '--flagfile', p('none.txt'), '--out', p('x')], names: /--flagfile .*none\.txt/ },
    // run directories
    { name: 'resume a folder that is no run', argv: () => ['train', '--resume', '--out', tmp], names: /no config\.json/ },
    { name: 'resume with other settings', argv: () => ['train', '--resume', '--out', p('run'), '--lr', '1'], names: /drop --lr/ },
    { name: 'resume with a schedule setting', argv: () => ['train', '--resume', '--out', p('run'), '--beta-end', '0.03', '--no-cfg'], names: /drop --no-cfg, --beta-end/ },
    { name: 'resume: config.json with an unknown key', argv: () => ['train', '--resume', '--out', brokenCopy('c5', 'config.json', '{"train": {"method": "cbdm", "gama": 0.5}}')], names: /c5\/config\.json: unknown key 'gama' \(did you mean 'gamma'\?\)/ },
    { name: 'resume: corrupt config.json', argv: () => ['train', '--resume', '--out', brokenCopy('c1', 'config.json', '{"train": ')], names: /c1\/config\.json is not a valid run config/ },
    { name: 'resume: corrupt latest.json', argv: () => ['train', '--resume', '--out', brokenCopy('c2', 'checkpoints/latest.json', 'garbage')], names: /c2\/checkpoints\/latest\.json/ },
    { name: 'resume: latest.json points nowhere', argv: () => ['train', '--resume', '--out', brokenCopy('c3', 'checkpoints/latest.json', '{"file":"step-9.safetensors","step":9}')], names: /latest\.json points at step-9\.safetensors, which is missing/ },
    { name: 'resume: truncated checkpoint', argv: () => ['train', '--resume', '--out', brokenCopy('c4', 'checkpoints/step-00000001.safetensors', new Uint8Array(4))], names: /step-00000001\.safetensors.*safetensors/ },
    { name: 'train into an existing run', argv: () => ['train', ...MICRO, '--out', p('run')], names: /already holds a run; use --resume/ },
    { name: 'report: missing run', argv: () => ['report', '--runs', p('nope'), '--out', p('r.html')], names: /nope does not exist/ },
    { name: 'report: corrupt data.json', argv: () => ['report', '--runs', brokenCopy('d1', 'data.json', '{oops'), '--out', p('r.html')], names: /d1\/data\.json is not valid JSON/ },
    { name: 'report: corrupt config.json', argv: () => ['report', '--runs', brokenCopy('d2', 'config.json', '[]'), '--out', p('r.html')], names: /d2\/config\.json/ },
    { name: 'report: corrupt metrics.jsonl', argv: () => ['report', '--runs', brokenCopy('d3', 'metrics.jsonl', '{"step":1,"loss":1}\nnot json\n{"step":3,"loss":1}\n'), '--out', p('r.html')], names: /d3\/metrics\.jsonl: line 2 is not valid JSON/ },
    { name: 'report: steps not increasing', argv: () => ['report', '--runs', brokenCopy('d4', 'metrics.jsonl', '{"step":2,"loss":1}\n{"step":1,"loss":1}\n'), '--out', p('r.html')], names: /d4\/metrics\.jsonl: line 2 has step 1 after step 2/ },
    { name: 'report --out is a directory', argv: () => ['report', '--runs', p('run'), '--out', tmp], names: /cannot write .*\/table: it is a directory \(EISDIR\); table was left as it was/ },
    { name: 'report --smooth 2', argv: () => ['report', '--runs', p('run'), '--smooth', '2'], names: /--smooth/ },
    { name: 'report --labels count', argv: () => ['report', '--runs', p('run'), '--labels', 'a,b', '--out', p('r.html')], names: /--labels has 2 names for 1 runs/ },
    { name: 'report --note-file missing', argv: () => ['report', '--runs', p('run'), '--note-file', p('nonote.txt'), '--out', p('r.html')], names: /--note-file .*nonote\.txt/ },
    { name: 'report without --runs', argv: () => ['report'], names: /--runs/ },
    // sampling inputs (model loading)
    { name: 'sample --run without config.json', argv: () => ['sample', '--run', tmp, '--out', p('s.npz')], names: /not a cbdm run directory \(no config\.json\)/ },
    { name: 'sample --run corrupt config.json', argv: () => ['sample', '--run', brokenCopy('e1', 'config.json', 'nope'), '--out', p('s.npz')], names: /e1\/config\.json/ },
    { name: 'sample --run corrupt data.json', argv: () => ['sample', '--run', brokenCopy('e2', 'data.json', '{"classNames": '), '--n', '1', '--out', p('s.npz')], names: /e2\/data\.json/ },
    { name: 'sample --ckpt missing', argv: () => ['sample', '--ckpt', p('none.pt'), '--out', p('s.npz')], names: /none\.pt does not exist/ },
    { name: 'sample --ckpt absurd safetensors header', argv: () => ['sample', '--ckpt', write('absurd.safetensors', safetensorsAbsurd), '--out', p('s.npz')], names: /absurd\.safetensors: .*safetensors/ },
    { name: 'sample --ckpt safetensors contents in a .pt', argv: () => ['sample', '--ckpt', write('absurd.pt', safetensorsAbsurd), '--out', p('s.npz')], names: /absurd\.pt: not a PyTorch checkpoint/ },
    { name: 'sample --ckpt garbage .pt', argv: () => ['sample', '--ckpt', write('garbage.pt', 'garbage'), '--out', p('s.npz')], names: /garbage\.pt/ },
    { name: 'sample --ckpt NaN weights', argv: () => ['sample', '--ckpt', write('nan.safetensors', nanWeights), '--out', p('s.npz')], names: /nan\.safetensors: weights are not finite: 'head\.weight' holds 1 NaN\/Inf value/ },
    { name: 'sample --ckpt --image-size against its metadata', argv: () => ['sample', '--ckpt', p('run', 'ema.safetensors'), '--image-size', '32', '--out', p('s.npz')], names: /--image-size 32 conflicts with .*ema\.safetensors, a 16×16 model/ },
    { name: 'sample --run and --ckpt', argv: () => ['sample', '--run', p('run'), '--ckpt', TINY_PT, '--out', p('s.npz')], names: /exactly one of --run/ },
    { name: 'sample --n abc', argv: () => ['sample', '--run', p('run'), '--n', 'abc', '--out', p('s.npz')], names: /--n/ },
    { name: 'sample --class out of range', argv: () => ['sample', '--ckpt', TINY_PT, '--image-size', '8', '--class', '7', '--n', '1', '--out', p('s.npz')], names: /--class 7 is out of range/ },
    { name: 'sample --sampler foo', argv: () => ['sample', '--run', p('run'), '--sampler', 'foo', '--out', p('s.npz')], names: /--sampler/ },
    { name: 'sample --steps above T', argv: () => ['sample', '--run', p('run'), '--sampler', 'ddim', '--steps', '5000', '--n', '1', '--out', p('s.npz')], names: /--steps 5000 is more than the model's 1000 timesteps/ },
    { name: 'sample --steps 0', argv: () => ['sample', '--run', p('run'), '--sampler', 'ddim', '--steps', '0', '--n', '1', '--out', p('s.npz')], names: /--steps/ },
    { name: 'sample --eta -1', argv: () => ['sample', '--run', p('run'), '--sampler', 'ddim', '--steps', '2', '--eta', '-1', '--n', '1', '--out', p('s.npz')], names: /--eta must be a finite number ≥ 0/ },
    { name: 'sample --n too large for one .npz', argv: () => ['sample', '--run', p('run'), '--n', '1000000000', '--out', p('s.npz')], names: /--out .*s\.npz: 1000000000 images are written as shards/ },
    { name: 'sample --image-size 7', argv: () => ['sample', '--ckpt', TINY_PT, '--image-size', '7', '--n', '1', '--out', p('s.npz')], names: /image size 7/ },
    // data
    { name: 'data inspect --dataset nope', argv: () => ['data', 'inspect', '--dataset', 'nope'], names: /nope/ },
    { name: 'data inspect --imb abc', argv: () => ['data', 'inspect', '--dataset', 'shapes10-lt', '--imb', 'abc'], names: /--imb/ },
    { name: 'data inspect --image-size 7', argv: () => ['data', 'inspect', '--dataset', 'shapes10-lt', '--image-size', '7'], names: /16 or 32 pixel images, not 7/ },
    { name: 'data inspect CIFAR without --root', argv: () => ['data', 'inspect', '--dataset', 'cifar10'], names: /--root/ },
    { name: 'data export --out is a file', argv: () => ['data', 'export', '--dataset', 'shapes10-lt', '--out', file], names: /a-file/ },
    // eval
    { name: 'eval --samples missing', argv: () => ['eval', '--samples', p('none.npz'), '--ref', p('none2.npz')], names: /none2?\.npz/ },
    { name: 'eval --samples not a zip', argv: () => ['eval', '--samples', write('bad.npz', 'not a zip'), '--ref', write('bad2.npz', 'x')], names: /bad2?\.npz/ },
    { name: 'eval --batch 0', argv: () => ['eval', '--samples', p('x.npz'), '--ref', p('y.npz'), '--batch', '0'], names: /--batch/ },
    { name: 'eval fid missing files', argv: () => ['eval', 'fid', p('a.npz'), p('b.npz')], names: /a\.npz/ },
    { name: 'eval stats --inception missing', argv: () => ['eval', 'stats', '--dataset', 'shapes10-lt', '--inception', p('none.pth'), '--out', p('st.npz')], names: /none\.pth/ },
    { name: 'eval stats --extractor domain --image-size 7', argv: () => ['eval', 'stats', '--dataset', 'shapes10-lt', '--extractor', 'domain', '--image-size', '7', '--out', p('st.npz')], names: /7/ },
    // other commands
    { name: 'classify --dataset nope', argv: () => ['classify', '--dataset', 'nope'], names: /nope/ },
    { name: 'classify --epochs abc', argv: () => ['classify', '--dataset', 'shapes10-lt', '--epochs', 'abc'], names: /--epochs/ },
    { name: 'classify --augment-with missing', argv: () => ['classify', '--dataset', 'shapes10-lt', '--augment-with', p('aug.npz'), '--steps', '1'], names: /aug\.npz/ },
    { name: 'demo --steps abc', argv: () => ['demo', '--steps', 'abc'], names: /--steps/ },
    { name: 'demo --dataset cifar10', argv: () => ['demo', '--dataset', 'cifar10'], names: /--dataset/ },
    { name: 'model info --classes abc', argv: () => ['model', 'info', '--classes', 'abc'], names: /--classes/ },
    { name: 'bench --reps abc', argv: () => ['bench', 'gemm', '--reps', 'abc'], names: /--reps/ },
    { name: 'unknown command', argv: () => ['trian'], names: /trian/ },
  ];
}

/** Disk faults: a 200 KB tmpfs (full disk) and a read-only bind mount; the caller mounts them. */
function diskCases(full: string, ro: string): Case[] {
  return [
    { name: 'train onto a full disk', argv: () => ['train', '--config', p('micro.yaml'), '--out', join(full, 'run'), '--quiet'], names: /cannot write .*full\/run\/checkpoints\/step-00000001\.safetensors: no space left on the device \(ENOSPC\) after [\d,]+ of [\d,]+ bytes.*the last complete one is none/ },
    { name: 'data export onto a full disk', argv: () => ['data', 'export', '--dataset', 'shapes10-lt', '--size', '16', '--out', join(full, 'export')], names: /full\/export.*ENOSPC/ },
    { name: 'train onto a read-only disk', argv: () => ['train', '--config', p('micro.yaml'), '--out', join(ro, 'run'), '--quiet'], names: /ro\/run: read-only file system \(EROFS\)/ },
    { name: 'report onto a read-only disk', argv: () => ['report', '--runs', p('run'), '--out', join(ro, 'r.html')], names: /cannot write .*ro\/r\.html: read-only file system \(EROFS\)/ },
  ];
}

const results: Array<{ name: string; code: number; err: string; names: string; expected: number }> = [];
await makeRun();
const list = process.argv[4] === '--disk' ? diskCases(p('full'), p('ro')) : cases();
for (const c of list) {
  const r = await cli(c.argv());
  results.push({ name: c.name, code: r.code, err: r.err, names: c.names.source, expected: c.code ?? 2 });
}
writeFileSync(process.argv[3]!, JSON.stringify(results));
