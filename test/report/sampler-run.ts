/**
 * A small run directory for sampler-page tests: a 4×4 greyscale, 3-class UNet (ch 32, two levels,
 * attention on the second) whose initial weights are perturbed by N(0, 0.02²) so that every layer,
 * the near-zero output convolutions included, shapes the prediction. Seeded: the same call
 * writes the same files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getBackend } from '../../src/engine/backends.ts';
import { UNet, type ResolvedUNetConfig } from '../../src/models/unet.ts';
import { writeSafetensors } from '../../src/io/safetensors.ts';
import { Rng } from '../../src/util/rng.ts';

export const SAMPLER_TEST_CONFIG: ResolvedUNetConfig = {
  T: 1000, ch: 32, chMult: [1, 2], attn: [1], numResBlocks: 1, dropout: 0.1, numClasses: 3, imageSize: 4, channels: 1,
};
export const SAMPLER_TEST_CLASSES = ['ring', 'bar', 'dot'];

/** Write config.json, data.json and ema.safetensors of the test model into `dir`. */
export function writeSamplerTestRun(dir: string, omegaEval = 1.5): void {
  mkdirSync(dir, { recursive: true });
  const net = new UNet(SAMPLER_TEST_CONFIG);
  net.store.materialize(getBackend('js'), 3);
  const rng = new Rng(11, 5);
  const tensors = new Map();
  for (const [name, v] of net.store.stateDict()) {
    const data = name === 'time_embedding.timembedding.0.weight' ? v : v.map((x) => x + 0.02 * rng.normal());
    tensors.set(name, { dtype: 'float32', shape: [...net.store.get(name).shape], data });
  }
  writeSafetensors(join(dir, 'ema.safetensors'), tensors, { config: JSON.stringify(SAMPLER_TEST_CONFIG) });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ train: { method: 'cbdm', omegaEval }, model: SAMPLER_TEST_CONFIG }, null, 2));
  writeFileSync(join(dir, 'data.json'), JSON.stringify({ name: 'test-3', classNames: SAMPLER_TEST_CLASSES, counts: [50, 10, 2] }, null, 2));
}
