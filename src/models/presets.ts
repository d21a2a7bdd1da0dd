/**
 * Model presets. `cifar` is the paper's network (DDPM CIFAR-10 UNet, 35.9 M parameters with 100
 * classes); `tiny` trains in minutes on two cores; `small` sits between.
 */
import type { ResolvedUNetConfig } from './unet.ts';
import { CbdmError } from '../util/errors.ts';

export type PresetName = 'tiny' | 'small' | 'cifar';

export const PRESET_NAMES: readonly PresetName[] = ['tiny', 'small', 'cifar'];

/**
 * What every preset shares: ResBlock dropout 0.1 (published) and a time embedding of T = 1000 rows,
 * the published schedule's T; a training run sets T from its own schedule (TrainConfig
 * diffusionSteps, train/trainer.ts modelConfigFor). Spelled out per preset below so the fields
 * keep the order config.json and ema.safetensors record.
 */
const SHARED = { T: 1000, dropout: 0.1 };

/** The UNet config of a preset for `numClasses` classes, an image size (default per preset) and image channels (default 3). */
export function presetConfig(name: PresetName, numClasses: number, imageSize?: number, channels = 3): ResolvedUNetConfig {
  switch (name) {
    case 'tiny':
      return { T: SHARED.T, ch: 32, chMult: [1, 2, 2], attn: [1], numResBlocks: 1, dropout: SHARED.dropout, numClasses, imageSize: imageSize ?? 16, channels };
    case 'small':
      return { T: SHARED.T, ch: 64, chMult: [1, 2, 2], attn: [1], numResBlocks: 2, dropout: SHARED.dropout, numClasses, imageSize: imageSize ?? 32, channels };
    case 'cifar':
      return { T: SHARED.T, ch: 128, chMult: [1, 2, 2, 2], attn: [1], numResBlocks: 2, dropout: SHARED.dropout, numClasses, imageSize: imageSize ?? 32, channels };
    default: {
      const never: never = name;
      throw new CbdmError(`unknown preset '${String(never)}': choose one of ${PRESET_NAMES.join(', ')}`);
    }
  }
}

/** Parse a preset name from user input. */
export function parsePreset(s: string): PresetName {
  if ((PRESET_NAMES as readonly string[]).includes(s)) return s as PresetName;
  throw new CbdmError(`unknown preset '${s}': choose one of ${PRESET_NAMES.join(', ')}`);
}
