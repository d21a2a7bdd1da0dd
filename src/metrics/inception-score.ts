/**
 * Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) ‖ p(y)), on the 1008 logits of the
 * FID Inception's fc layer (applied *without* its bias by the network; this file gets logits).
 *
 * Protocol of the reference code (improved-GAN, and the DDPM/CBDM repos that copy it): the N
 * samples are cut into `splits` consecutive chunks [⌊iN/s⌋, ⌊(i+1)N/s⌋); in each chunk p(y) is
 * the mean of the softmaxes and the score is exp(mean KL); the result is the mean and the
 * *population* standard deviation (np.std, ddof 0) of the chunk scores.
 * Shapes: logits N×C row-major (C = 1008 for the FID Inception).
 */
import { CbdmError } from '../util/errors.ts';

/** Inception Score: mean and population std over the splits, plus each split's score. */
export interface InceptionScore {
  mean: number;
  std: number;
  scores: number[];
}

/** log softmax of each row of logits (float64), into out (N×C). */
function logSoftmaxRows(logits: Float32Array | Float64Array, n: number, c: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits[o + j]!);
    let z = 0;
    for (let j = 0; j < c; j++) z += Math.exp(logits[o + j]! - m);
    const lz = m + Math.log(z);
    for (let j = 0; j < c; j++) out[o + j] = logits[o + j]! - lz;
  }
}

/**
 * Inception Score of N×numClasses logits, `splits` consecutive chunks (default 10).
 * Log-probabilities come from a log-softmax, so classes whose probability underflows contribute
 * exactly 0 (p·log p → 0) instead of NaN.
 */
export function inceptionScore(logits: Float32Array | Float64Array, n: number, numClasses: number, splits = 10): InceptionScore {
  if (!(Number.isInteger(n) && Number.isInteger(numClasses) && numClasses >= 1)) throw new CbdmError(`inceptionScore: bad shape ${n}×${numClasses}`);
  if (logits.length < n * numClasses) throw new CbdmError(`inceptionScore: expected ${n}×${numClasses} logits, got ${logits.length}`);
  if (!(Number.isInteger(splits) && splits >= 1 && splits <= n)) throw new CbdmError(`inceptionScore: splits must be an integer in [1, ${n}] (one sample per split at least), got ${splits}`);
  const c = numClasses;
  const logp = new Float64Array(n * c);
  logSoftmaxRows(logits, n, c, logp);
  const scores: number[] = [];
  const py = new Float64Array(c);
  for (let s = 0; s < splits; s++) {
    const r0 = Math.floor((s * n) / splits);
    const r1 = Math.floor(((s + 1) * n) / splits);
    const rows = r1 - r0;
    py.fill(0);
    for (let i = r0; i < r1; i++) for (let j = 0; j < c; j++) py[j] += Math.exp(logp[i * c + j]!);
    for (let j = 0; j < c; j++) py[j] = Math.log(py[j]! / rows);
    let kl = 0;
    for (let i = r0; i < r1; i++) {
      const o = i * c;
      for (let j = 0; j < c; j++) {
        const lp = logp[o + j]!;
        const p = Math.exp(lp);
        if (p > 0) kl += p * (lp - py[j]!);
      }
    }
    scores.push(Math.exp(kl / rows));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, scores };
}
