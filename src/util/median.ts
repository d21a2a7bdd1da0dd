/**
 * The median of a list of numbers: the middle value, or the mean of the two middle ones for an
 * even count. (The benchmark timers in src/engine/cpu/bench.ts and src/train/bench.ts and the
 * report's summary take the upper middle value instead; their recorded numbers rely on that, so they
 * keep their own.)
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
