/**
 * Resampling of single-channel uint8 images for datasets stored at a size the UNet does not take
 * (Fashion-MNIST's 28×28).
 *
 *   padImage      centre the image on a larger black canvas (no pixel changes: 28 → 32 adds 2 px
 *                 of 0 on each side, −1 after the [−1, 1] scaling — the images' own background).
 *   resizeBilinear  triangle-filter ("bilinear") resampling with the filter widened by the scale
 *                 when shrinking, so every source pixel contributes (antialiased, as Pillow's
 *                 `Image.resize(..., BILINEAR)`, python-pillow/Pillow src/libImaging/Resample.c,
 *                 `bilinear_filter` and `precompute_coeffs`). Pixel centres are aligned
 *                 (align_corners = false): output pixel o samples the source at (o + 0.5)·in/out.
 */

/** Per-output-pixel source indices and normalised weights of a 1-D resampling `inSize → outSize`. */
export function bilinearCoefficients(inSize: number, outSize: number): { start: Int32Array; count: Int32Array; weights: Float64Array; maxTaps: number } {
  const scale = inSize / outSize;
  const support = Math.max(1, scale); // filter half-width in source pixels
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize, Math.ceil(centre + support));
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights[o * maxTaps + (i - lo)] = w;
      sum += w;
    }
    for (let i = lo; i < hi; i++) weights[o * maxTaps + (i - lo)]! /= sum;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

/** Resize n square single-channel images `inSize → outSize` (uint8, rounded, clamped). */
export function resizeBilinear(images: Uint8Array, n: number, inSize: number, outSize: number): Uint8Array {
  const c = bilinearCoefficients(inSize, outSize);
  const out = new Uint8Array(n * outSize * outSize);
  const rows = new Float64Array(inSize * outSize); // horizontal pass: inSize rows × outSize columns
  for (let k = 0; k < n; k++) {
    const src = k * inSize * inSize;
    for (let y = 0; y < inSize; y++) {
      for (let x = 0; x < outSize; x++) {
        let acc = 0;
        for (let t = 0; t < c.count[x]!; t++) acc += c.weights[x * c.maxTaps + t]! * images[src + y * inSize + c.start[x]! + t]!;
        rows[y * outSize + x] = acc;
      }
    }
    const dst = k * outSize * outSize;
    for (let y = 0; y < outSize; y++) {
      for (let x = 0; x < outSize; x++) {
        let acc = 0;
        for (let t = 0; t < c.count[y]!; t++) acc += c.weights[y * c.maxTaps + t]! * rows[(c.start[y]! + t) * outSize + x]!;
        out[dst + y * outSize + x] = Math.min(255, Math.max(0, Math.round(acc)));
      }
    }
  }
  return out;
}

/** Centre n square single-channel images `inSize` on black `outSize` canvases (outSize − inSize even). */
export function padImage(images: Uint8Array, n: number, inSize: number, outSize: number): Uint8Array {
  const p = (outSize - inSize) / 2;
  if (!(Number.isInteger(p) && p >= 0)) throw new RangeError(`padImage: cannot centre ${inSize} px on ${outSize} px`);
  const out = new Uint8Array(n * outSize * outSize);
  for (let k = 0; k < n; k++) {
    for (let y = 0; y < inSize; y++) {
      out.set(images.subarray(k * inSize * inSize + y * inSize, k * inSize * inSize + (y + 1) * inSize), k * outSize * outSize + (y + p) * outSize + p);
    }
  }
  return out;
}
