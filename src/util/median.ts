/**
 * Medians of a list of numbers. `median`: the middle value, or the mean of the two middle ones for
 * an even count. `upperMedian`: the middle value, the upper of the two for an even count — what the
 * benchmark timers and the report's summary have always taken, so their recorded numbers stay as
 * they were.
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function upperMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
