/**
 * MT19937 (Matsumoto & Nishimura 1998) with NumPy's legacy `RandomState` conventions, so that
 * `numpyCompat` long-tail subsets select exactly the images the published CBDM code selected.
 *
 * Facts (checked against NumPy 2.4 and its legacy compatibility guarantee):
 *   - `np.random.seed(s)` with an integer s in [0, 2^32) uses `mt19937_seed` = the reference
 *     `init_genrand(s)`; only array seeds (`np.random.seed([a, b])`) use `init_by_array`.
 *   - `rand()` = (a·2^26 + b) / 2^53 with a = next32 >> 5, b = next32 >> 6.
 *   - `shuffle(x)` on a 1-d array: for i = n−1 down to 1, j = random_interval(i), swap x[i], x[j];
 *     random_interval(max) draws next32 & mask (mask = smallest 2^k−1 ≥ max) until ≤ max.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

/** Serialisable MT19937 state: the 624 key words and the read position (as NumPy's get_state). */
export interface MT19937State {
  key: number[];
  pos: number;
}

/** The 32-bit Mersenne Twister with NumPy legacy seeding, doubles and shuffle. */
export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  /** Seed like `np.random.seed(seed)` for an integer seed (init_genrand). */
  constructor(seed = 5489) {
    this.seed(seed);
  }

  /** Reference `init_genrand`: NumPy's legacy seeding for an integer seed. */
  seed(seed: number): void {
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new RangeError(`MT19937: seed must be an integer in [0, 2^32 − 1], got ${seed}`);
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.pos = N;
  }

  /** Reference `init_by_array`: NumPy's legacy seeding for an array seed. */
  seedByArray(key: readonly number[]): void {
    if (key.length === 0) throw new RangeError('MT19937: seed array must be non-empty');
    this.seed(19650218);
    const mt = this.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + (key[j]! >>> 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) { mt[0] = mt[N - 1]!; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) { mt[0] = mt[N - 1]!; i = 1; }
    }
    mt[0] = 0x80000000;
    this.pos = N;
  }

  /** Serialisable state (copy). */
  state(): MT19937State {
    return { key: Array.from(this.mt), pos: this.pos };
  }

  /** Rebuild a generator from `state()`. */
  static fromState(st: MT19937State): MT19937 {
    if (st.key.length !== N || !(st.pos >= 0 && st.pos <= N)) throw new RangeError('MT19937.fromState: need 624 key words and 0 ≤ pos ≤ 624');
    const g = new MT19937(0);
    g.mt.set(st.key);
    g.pos = st.pos;
    return g;
  }

  private generate(): void {
    const mt = this.mt;
    let k = 0;
    for (; k < N - M; k++) {
      const y = (mt[k]! & UPPER) | (mt[k + 1]! & LOWER);
      mt[k] = mt[k + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; k < N - 1; k++) {
      const y = (mt[k]! & UPPER) | (mt[k + 1]! & LOWER);
      mt[k] = mt[k + M - N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1]! & UPPER) | (mt[0]! & LOWER);
    mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** Next tempered uint32 (NumPy `random_raw` / `randint(0, 2**32, dtype=uint32)`). */
  nextU32(): number {
    if (this.pos >= N) this.generate();
    let y = this.mt[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform double in [0, 1) with 53 bits, as `np.random.rand()`. */
  nextDouble(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, max] by masked rejection, as NumPy's `random_interval` (max < 2^32). */
  interval(max: number): number {
    if (!(Number.isInteger(max) && max >= 0 && max <= 0xffffffff)) throw new RangeError(`MT19937.interval: max must be an integer in [0, 2^32 − 1], got ${max}`);
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextU32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /** In-place shuffle of a 1-d array exactly as NumPy's legacy `RandomState.shuffle`. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }
}
