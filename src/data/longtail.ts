/**
 * Long-tailed class-count profiles (Cao et al. 2019, as used by CBDM for CIFAR-LT).
 *   exp:  n_i = floor(n_max · imb^(i/(C−1)))
 *   step: the first ⌊C/2⌋ classes keep n_max, the rest get floor(n_max · imb)
 */

export type LongTailProfile = 'exp' | 'step';

/** Per-class counts for C classes, head (class 0) to tail (class C−1). */
export function longTailCounts(nMax: number, numClasses: number, imb: number, profile: LongTailProfile = 'exp'): number[] {
  if (!(Number.isInteger(nMax) && nMax >= 1)) throw new RangeError(`longTailCounts: nMax must be a positive integer, got ${nMax}`);
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new RangeError(`longTailCounts: numClasses must be a positive integer, got ${numClasses}`);
  if (!(imb > 0 && imb <= 1)) throw new RangeError(`longTailCounts: imbalance factor must be in (0, 1], got ${imb}`);
  const counts: number[] = [];
  for (let i = 0; i < numClasses; i++) {
    switch (profile) {
      case 'exp':
        counts.push(numClasses === 1 ? nMax : Math.floor(nMax * Math.pow(imb, i / (numClasses - 1))));
        break;
      case 'step':
        counts.push(i < Math.floor(numClasses / 2) ? nMax : Math.floor(nMax * imb));
        break;
      default: {
        const never: never = profile;
        throw new RangeError(`unknown long-tail profile ${String(never)}`);
      }
    }
  }
  return counts;
}
