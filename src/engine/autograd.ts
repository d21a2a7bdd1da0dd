/**
 * Reverse-mode autodiff. Each op records a `GradNode` on its output: its inputs and a backward
 * rule that maps the output gradient to one gradient per input (null where none flows). Rules
 * live beside their forward in `src/engine/ops/<op>.ts` and say which tensors they save.
 *
 * `backward(loss)` walks the graph once in reverse topological order. A tensor used several
 * times (e.g. the weights in the two forward passes of the CBDM loss) gets the sum of the
 * gradients of its uses; leaves accumulate into `.grad` across calls until zeroed.
 */
import { Tensor, fmtShape } from './tensor.ts';
import { gradEnabled, keep, noGrad } from './context.ts';

export interface GradNode {
  /** Op name, for errors and debugging. */
  op: string;
  inputs: Tensor[];
  /** Gradients w.r.t. each input, given the gradient w.r.t. the output. */
  backward: (gy: Tensor) => Array<Tensor | null>;
}

/**
 * Attach a backward rule to `out` if any input needs gradients (and grad mode is on).
 * Returns `out` for chaining.
 */
export function record(op: string, inputs: Tensor[], out: Tensor, backward: (gy: Tensor) => Array<Tensor | null>): Tensor {
  if (!gradEnabled()) return out;
  if (!inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.node = { op, inputs, backward };
  return out;
}

/**
 * Backpropagate from `loss` (a scalar unless `gradOutput` is given), accumulating into the
 * `.grad` of every leaf tensor with requiresGrad.
 */
export function backward(loss: Tensor, gradOutput?: Tensor): void {
  if (!loss.requiresGrad) {
    throw new Error(`backward: tensor ${loss.describe()} does not require grad (no graph was recorded: are the inputs parameters, and was it computed outside noGrad?)`);
  }
  if (gradOutput === undefined && loss.size !== 1) {
    throw new Error(`backward: loss must be a scalar, got ${fmtShape(loss.shape)}; pass gradOutput for non-scalar outputs`);
  }
  if (gradOutput !== undefined && gradOutput.size !== loss.size) {
    throw new Error(`backward: gradOutput ${gradOutput.describe()} does not match ${loss.describe()}`);
  }
  const order = topoOrder(loss);
  const grads = new Map<Tensor, Tensor>();
  noGrad(() => {
    const seed = gradOutput ?? onesLike(loss);
    grads.set(loss, seed);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const gy = grads.get(t);
      if (gy === undefined) continue;
      grads.delete(t);
      if (t.node === null) {
        accumulateLeaf(t, gy);
        if (gy !== gradOutput) gy.dispose();
        continue;
      }
      const gxs = t.node.backward(gy);
      if (gxs.length !== t.node.inputs.length) {
        throw new Error(`backward: rule of '${t.node.op}' returned ${gxs.length} gradients for ${t.node.inputs.length} inputs`);
      }
      for (let j = 0; j < gxs.length; j++) {
        const x = t.node.inputs[j]!;
        const gxRaw = gxs[j];
        if (gxRaw === null || gxRaw === undefined || !x.requiresGrad) continue;
        if (gxRaw.size !== x.size) {
          throw new Error(`backward: '${t.node.op}' produced gradient ${gxRaw.describe()} for input ${x.describe()}`);
        }
        // A view per use: rules may return gy itself or one tensor for several inputs.
        const gx = new Tensor(gxRaw, x.shape);
        const prev = grads.get(x);
        if (prev === undefined) {
          grads.set(x, gx);
        } else {
          const backend = prev.backend;
          const sum = new Tensor({ storage: backend.alloc(prev.dtype, prev.size), backend }, x.shape);
          backend.add(prev.storageFor('backward'), gx.storageFor('backward'), sum.storageFor('backward'));
          prev.dispose();
          gx.dispose();
          grads.set(x, sum);
        }
      }
      for (const g of new Set(gxs)) if (g && g !== gradOutput) g.dispose();
      if (gy !== gradOutput) gy.dispose();
    }
  });
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  const backend = leaf.backend;
  if (leaf.grad === null || leaf.grad.disposed) {
    const grad = new Tensor({ storage: backend.alloc(leaf.dtype, leaf.size), backend }, leaf.shape);
    keep(grad);
    leaf.grad = grad;
  }
  const gs = leaf.grad.storageFor('backward');
  backend.add(gs, g.storageFor('backward'), gs);
}

function onesLike(t: Tensor): Tensor {
  const backend = t.backend;
  const out = new Tensor({ storage: backend.alloc(t.dtype, t.size), backend }, t.shape);
  backend.fill(out.storageFor('ones'), 1);
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: UNet graphs are deep enough to trouble recursion.
  const stack: Array<[Tensor, number]> = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node ? t.node.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const x = inputs[i]!;
      if (x.requiresGrad && !seen.has(x)) {
        seen.add(x);
        stack.push([x, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}
