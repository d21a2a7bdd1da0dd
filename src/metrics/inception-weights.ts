/**
 * Finding and loading the FID Inception weights. cbdm never downloads: the user fetches
 * pytorch-fid's port of TensorFlow's 2015-12-05 Inception once and points us at it with
 * `--inception FILE`, `CBDM_INCEPTION=FILE`, or the default cache path (PyTorch zip or legacy
 * .pth, or safetensors).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { loadStateDictFile } from '../io/torch.ts';
import { CbdmError } from '../util/errors.ts';
import { FidInceptionV3 } from './inception.ts';

/** File name of the published FID weights (pytorch-fid release `fid_weights`). */
export const FID_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth';

/** Where pytorch-fid downloads them from. */
export const FID_WEIGHTS_URL = 'https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth';

/**
 * The default place we look when neither the flag nor CBDM_INCEPTION names a file:
 * `$CBDM_CACHE/<file>` when CBDM_CACHE is set (as for the domain classifier's cache), else
 * `~/.cache/cbdm/<file>`, shared by every checkout.
 */
export function defaultInceptionPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.CBDM_CACHE !== undefined && env.CBDM_CACHE !== '' ? env.CBDM_CACHE : join(homedir(), '.cache', 'cbdm');
  return join(base, FID_WEIGHTS_FILE);
}

/**
 * PyTorch's hub cache, where pytorch-fid's own download lands (`torch.hub.load_state_dict_from_url`
 * saves into `$TORCH_HOME/hub/checkpoints`, TORCH_HOME defaulting to `$XDG_CACHE_HOME/torch`, else
 * `~/.cache/torch`; torch/hub.py `get_dir`): the published weights file there (any hash suffix that
 * a release gave it), or null.
 */
export function torchHubInceptionPath(env: NodeJS.ProcessEnv = process.env): string | null {
  const cache = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const torchHome = env.TORCH_HOME !== undefined && env.TORCH_HOME !== '' ? env.TORCH_HOME : join(cache, 'torch');
  const dir = join(torchHome, 'hub', 'checkpoints');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const found = names.filter((n) => /^pt_inception-2015-12-05-[0-9a-f]+\.pth$/.test(n)).sort();
  const exact = found.includes(FID_WEIGHTS_FILE) ? FID_WEIGHTS_FILE : found[0];
  return exact === undefined ? null : join(dir, exact);
}

/** The instructions printed when the weights are missing. */
export function missingWeightsMessage(tried: string, env: NodeJS.ProcessEnv = process.env): string {
  const dest = defaultInceptionPath(env);
  return [
    `FID Inception weights not found (looked for ${tried}).`,
    `cbdm needs ${FID_WEIGHTS_FILE} (pytorch-fid's port of TensorFlow's inception-2015-12-05: 23.9 M float32 values, about 96 MB). Download it once:`,
    `  mkdir -p ${dirname(dest)} && curl -L -o ${dest} ${FID_WEIGHTS_URL}`,
    `cbdm looks there by default, then in the torch hub cache (${join('$TORCH_HOME', 'hub', 'checkpoints')}, where pytorch-fid keeps it); a copy elsewhere works with --inception FILE or CBDM_INCEPTION=FILE.`,
  ].join('\n');
}

/**
 * Resolve the weights file: `flag`, else `$CBDM_INCEPTION`, else the default cache path, else
 * pytorch-fid's copy in the torch hub cache. Throws a CbdmError naming the file, its URL and
 * where to put it when nothing is found.
 */
export function resolveInceptionWeights(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = flag ?? (env.CBDM_INCEPTION !== undefined && env.CBDM_INCEPTION !== '' ? env.CBDM_INCEPTION : undefined);
  const ours = defaultInceptionPath(env);
  const path = explicit ?? (!existsSync(ours) ? torchHubInceptionPath(env) ?? ours : ours);
  if (!existsSync(path) || !statSync(path).isFile()) {
    const how = flag !== undefined ? `--inception ${flag}` : explicit !== undefined ? `CBDM_INCEPTION=${explicit}` : path;
    throw new CbdmError(missingWeightsMessage(how, env));
  }
  return path;
}

/** Build the published FID Inception and load its weights from `path` onto `backend`. */
export function loadFidInception(path: string, backend: Backend): FidInceptionV3 {
  const sd = loadStateDictFile(path);
  const net = new FidInceptionV3();
  try {
    net.loadStateDict(sd, backend);
  } catch (e) {
    throw new CbdmError(`${path} is not the FID Inception state dict (${FID_WEIGHTS_FILE}): ${(e as Error).message}`);
  }
  return net;
}
