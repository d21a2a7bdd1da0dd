/**
 * The tiny UNet of the golden CBDM fixtures (test/fixtures/cbdm/make_cbdm_golden.py) with the
 * generator's hash weights, recomputed bit for bit: murmur3's fmix32 of i·0x9E3779B1 + FNV-1a(name)
 * (mod 2³²) gives u ∈ (0, 1) per element; weights are float32 roundings of float64 values.
 */
import { UNet, type ResolvedUNetConfig } from '../../src/models/unet.ts';
import type { Backend } from '../../src/engine/backend.ts';

export const GOLDEN_UNET: ResolvedUNetConfig = { T: 1000, ch: 32, chMult: [1, 2], attn: [1], numResBlocks: 1, dropout: 0, numClasses: 3, imageSize: 8, channels: 3 };

/** The published sinusoidal table: fixed, not learnt, so the fixtures leave it out. */
export const FROZEN = 'time_embedding.timembedding.0.weight';

function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** u_i ∈ (0, 1), i = 0..n−1, as `hash_uniform` of the generator. */
export function hashUniform(n: number, key: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + key) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    out[i] = ((h >>> 0) + 0.5) / 2 ** 32;
  }
  return out;
}

/** The generator's `hash_weights(name, shape)`. */
export function hashWeights(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = hashUniform(n, fnv1a(name));
  const out = new Float32Array(n);
  const fanScale = shape.length > 1 ? Math.sqrt(3) * 0.5 / Math.sqrt(Math.floor(n / shape[0]!)) : 0;
  for (let i = 0; i < n; i++) {
    const s = 2 * u[i]! - 1;
    out[i] = name === 'label_embedding.weight' ? s * Math.sqrt(3)
      : shape.length > 1 ? s * fanScale
        : name.endsWith('weight') ? 1 + 0.2 * s : 0.1 * s;
  }
  return out;
}

/** ±1 per element, the generator's `sign_vector`. */
export function signVector(name: string, n: number): Float64Array {
  return hashUniform(n, (fnv1a(name) ^ 0x5bd1e995) >>> 0).map((u) => (u < 0.5 ? -1 : 1));
}

/** The generator's `sample_indices(n)`: all of a small tensor, else 96 hashed positions. */
export function sampleIndices(n: number): number[] {
  if (n <= 256) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: 96 }, (_, j) => (j * 2654435761) % n);
}

/** [L2 norm, sum, dot with the sign vector] of one tensor's values, in float64. */
export function tensorStats(name: string, v: ArrayLike<number>): [number, number, number] {
  const sign = signVector(name, v.length);
  let sq = 0, sum = 0, dot = 0;
  for (let i = 0; i < v.length; i++) {
    sq += v[i]! * v[i]!;
    sum += v[i]!;
    dot += v[i]! * sign[i]!;
  }
  return [Math.sqrt(sq), sum, dot];
}

/** The golden UNet on `backend` with the hash weights (the sinusoidal table as initialised). */
export function goldenUNet(backend: Backend): UNet {
  const net = new UNet(GOLDEN_UNET);
  net.store.materialize(backend, 0);
  const values = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>();
  for (const p of net.store.params) if (p.name !== FROZEN) values.set(p.name, { shape: p.shape, data: hashWeights(p.name, p.shape) });
  net.store.loadStateDict(values, { strict: false });
  return net;
}
