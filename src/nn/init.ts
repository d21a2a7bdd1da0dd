/**
 * Parameter initialisers, as the published DDPM/CBDM code uses them (PyTorch semantics):
 *   xavier-uniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out)), fan = channels × kernel area
 *   zeros / ones (biases, GroupNorm affine), normal(0, std) (nn.Embedding's default, std 1),
 *   fixed values (the frozen sinusoidal time table).
 * Draws come from our seeded Rng, so values differ from PyTorch's but distributions match.
 */
import { shapeSize } from '../engine/tensor.ts';
import type { Rng } from '../util/rng.ts';

export type Init =
  | { kind: 'xavierUniform'; gain: number }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'fixed'; values: ArrayLike<number> };

/** fan_in and fan_out of a weight shaped [out, in, ...kernel] (PyTorch's convention). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: need at least 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** Initial values for a parameter of `shape`. */
export function initValues(init: Init, shape: readonly number[], rng: Rng): Float64Array {
  const n = shapeSize(shape);
  const out = new Float64Array(n);
  switch (init.kind) {
    case 'xavierUniform': {
      const { fanIn, fanOut } = fans(shape);
      const a = init.gain * Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * a;
      return out;
    }
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std;
      return out;
    case 'uniform':
      for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * init.bound;
      return out;
    case 'fixed':
      if (init.values.length !== n) throw new Error(`fixed init: ${init.values.length} values for ${n} elements`);
      out.set(Array.from(init.values));
      return out;
    default: {
      const never: never = init;
      throw new Error(`unknown init ${JSON.stringify(never)}`);
    }
  }
}
