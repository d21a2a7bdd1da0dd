// CORAL's contrastive term: the SupCon op against PyTorch (value and gradient), finite
// differences, backend parity, and the whole term from the bottleneck through the head.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readNpz, npzGet } from '../../src/io/npz.ts';
import { getBackend } from '../../src/engine/backends.ts';
import { setCurrentBackend, tidy } from '../../src/engine/context.ts';
import { tensor } from '../../src/engine/ops/create.ts';
import { backward } from '../../src/engine/autograd.ts';
import { globalAvgPool } from '../../src/engine/ops/pool.ts';
import { linear } from '../../src/engine/ops/linear.ts';
import { supConLoss, supConForward } from '../../src/engine/ops/supcon.ts';
import { ProjectionHead } from '../../src/models/projection-head.ts';
import { coralTerm, coralTimeWeight } from '../../src/train/coral.ts';
import { DEFAULT_CORAL } from '../../src/train/config.ts';
import { gradcheck, parity, fastBackends } from '../engine/harness.ts';

const npz = readNpz(fileURLToPath(new URL('../fixtures/train/coral.npz', import.meta.url)));
const get = (k: string) => npzGet(npz, k, 'coral.npz');
const arr = (k: string) => Float64Array.from(get(k).data as ArrayLike<number>);

/** max |a − b| / max(1e-12, max |b|): relative to the reference's scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let err = 0, ref = 1e-12;
  for (let i = 0; i < a.length; i++) { err = Math.max(err, Math.abs(a[i]! - b[i]!)); ref = Math.max(ref, Math.abs(b[i]!)); }
  return err / ref;
}

for (const name of ['mixed', 'nopos', 'onecls', 'dense']) {
  test(`SupCon '${name}': value and ∂/∂z equal PyTorch (F.normalize + pytorch-metric-learning SupConLoss, τ 0.1), float64`, () => {
    const js = getBackend('js');
    setCurrentBackend(js);
    const zArr = get(`${name}_z`);
    const [B, D] = zArr.shape as [number, number];
    const y = Int32Array.from(get(`${name}_y`).data as ArrayLike<number>);
    const z = tensor(arr(`${name}_z`), [B, D], { dtype: 'float64', backend: js, requiresGrad: true });
    tidy(() => {
      const l = supConLoss(z, y, 0.1);
      const want = arr(`${name}_loss`)[0]!;
      assert.ok(Math.abs(l.item() - want) <= 1e-12 * Math.max(1, Math.abs(want)), `loss ${l.item()} vs PyTorch ${want}`);
      backward(l);
    });
    const g = z.grad!.toArray();
    const wantG = arr(`${name}_grad`);
    if (name === 'nopos' || name === 'onecls') {
      assert.equal(arr(`${name}_loss`)[0], 0);
      assert.ok(g.every((v) => v === 0), 'a batch without positive (or negative) pairs must give no gradient');
    } else {
      const e = relErr(g, wantG);
      assert.ok(e < 1e-10, `∂/∂z relative error ${e.toExponential(2)}`);
    }
    z.grad!.dispose();
    z.dispose();
  });
}

test('SupCon: anchors without a positive are left out of the mean (5 of 8 in the mixed batch), not counted as zero', () => {
  const y = Int32Array.from(get('mixed_y').data as ArrayLike<number>);
  const f = supConForward(arr('mixed_z'), y, 8, 6, 0.1);
  assert.equal(f.anchors, 5);
  // Rows of ∂L/∂s of anchors without a positive are zero: they enter only as others' negatives.
  for (const i of [2, 6, 7]) assert.ok(f.gradS.subarray(i * 8, i * 8 + 8).every((v) => v === 0), `anchor ${i}`);
  assert.ok(Math.abs(f.loss - arr('mixed_loss')[0]!) < 1e-12);
});

test('SupCon ∂/∂z matches float64 central differences on js (mixed labels: some anchors without positives)', () => {
  const labels = Int32Array.from([0, 1, 0, 2, 1, 3, 0]);
  gradcheck((z) => supConLoss(z, labels, 0.1), [{ shape: [7, 5] }], { tol: 1e-6 });
  gradcheck((z) => supConLoss(z, labels, 0.5), [{ shape: [7, 5] }], { seed: 4, tol: 1e-6 });
});

test('CORAL term from the bottleneck (GAP → Linear(C→128) → SupCon, × τ_sc·w·λ) equals PyTorch, with ∂/∂h_mid, ∂/∂W, ∂/∂b', () => {
  const js = getBackend('js');
  setCurrentBackend(js);
  const hArr = get('term_h');
  const [B, C, H, W] = hArr.shape as [number, number, number, number];
  const head = new ProjectionHead(C);
  head.store.materialize(js, 0, 'float64');
  head.store.loadStateDict(new Map([
    ['mean_proj.weight', { shape: [128, C], data: arr('term_W') }],
    ['mean_proj.bias', { shape: [128], data: arr('term_b') }],
  ]));
  const t = Int32Array.from(get('term_t').data as ArrayLike<number>);
  const y = Int32Array.from(get('term_y').data as ArrayLike<number>);
  assert.ok(Math.abs(coralTimeWeight(t, 1000, 0.3) - arr('term_lambda')[0]!) < 1e-12);
  const h = tensor(arr('term_h'), [B, C, H, W], { dtype: 'float64', backend: js, requiresGrad: true });
  head.store.zeroGrad();
  tidy(() => {
    const c = coralTerm(head, h, y, t, 1000, DEFAULT_CORAL);
    assert.ok(Math.abs(c.lCon - arr('term_supcon')[0]!) < 1e-11, `L_con ${c.lCon}`);
    assert.ok(Math.abs(c.term.item() - arr('term_value')[0]!) < 1e-11, `term ${c.term.item()} vs ${arr('term_value')[0]}`);
    backward(c.term);
  });
  for (const [what, got, want] of [
    ['h_mid', h.grad!.toArray(), arr('term_grad_h')],
    ['W', head.weight.value.grad!.toArray(), arr('term_grad_W')],
    ['b', head.bias.value.grad!.toArray(), arr('term_grad_b')],
  ] as const) {
    const e = relErr(got, want);
    assert.ok(e < 1e-10, `∂/∂${what} relative error ${e.toExponential(2)}`);
  }
});

test('CORAL term on cpu (and the other fast backends) agrees with js in float32 within 1e-4', (t) => {
  const others = fastBackends();
  if (others.length === 0) { t.skip('no fast backend built (npm install builds the cpu addon)'); return; }
  const labels = Int32Array.from([0, 1, 0, 2, 1, 3, 0, 2, 2, 1, 4, 0]);
  const f = (h: Parameters<typeof globalAvgPool>[0], w: typeof h, b: typeof h) => supConLoss(linear(globalAvgPool(h), w, b), labels, 0.1);
  for (const be of others) parity(be, f, [{ shape: [12, 64, 4, 4] }, { shape: [128, 64] }, { shape: [128] }], { tol: 1e-4 });
});

test('time weight λ: the batch mean of exp((1 − t/T)/τ_r), from e^{1/τ_r} at t = 0 down to ≈ 1 at t = T − 1', () => {
  assert.ok(Math.abs(coralTimeWeight(Int32Array.from([0]), 1000, 0.3) - Math.exp(1 / 0.3)) < 1e-12);
  assert.ok(Math.abs(coralTimeWeight(Int32Array.from([999]), 1000, 0.3) - Math.exp(0.001 / 0.3)) < 1e-12);
  assert.ok(Math.abs(coralTimeWeight(Int32Array.from([0, 999]), 1000, 0.3) - (Math.exp(1 / 0.3) + Math.exp(0.001 / 0.3)) / 2) < 1e-12);
});
