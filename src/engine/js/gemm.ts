/**
 * Reference gemm: C(M×N) = alpha·op(A)·op(B) + beta·C, row-major. op(A) is M×K (A stored K×M
 * when transposed), op(B) is K×N (B stored N×K when transposed). Loop order i-k-j keeps the
 * inner loop contiguous over C and B for the common non-transposed case.
 */
import type { FloatArray } from '../dtype.ts';

export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: FloatArray, B: FloatArray, beta: number, C: FloatArray): void {
  for (let i = 0; i < M * N; i++) C[i] = beta === 0 ? 0 : beta * C[i]!;
  for (let i = 0; i < M; i++) {
    const cRow = i * N;
    for (let k = 0; k < K; k++) {
      const a = alpha * (transA ? A[k * M + i]! : A[i * K + k]!);
      if (transB) {
        for (let j = 0; j < N; j++) C[cRow + j] = C[cRow + j]! + a * B[j * K + k]!;
      } else {
        const bRow = k * N;
        for (let j = 0; j < N; j++) C[cRow + j] = C[cRow + j]! + a * B[bRow + j]!;
      }
    }
  }
}
