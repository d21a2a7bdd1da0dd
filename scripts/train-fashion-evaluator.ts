/**
 * Train the Fashion-MNIST evaluator of one image size on the 60k training split, test it on the
 * 10k test split, and write its weights with the test accuracy in the metadata:
 *
 *   CBDM_THREADS=1 node --import tsx scripts/train-fashion-evaluator.ts --size 16 [--epochs 12] [--out FILE] [--root DIR]
 *
 * Default output: assets/fashion-mnist/evaluator-<size>px.safetensors (what `cbdm eval` and the
 * demo load). Progress goes to stderr; the final line (JSON) gives the test accuracy.
 */
import { parseArgs } from 'node:util';
import { useBackend } from '../src/engine/backends.ts';
import { fashionEvaluatorRecipe, fashionEvaluatorPath, saveFashionEvaluator, trainFashionEvaluator, type FashionEvalSize } from '../src/metrics/fashion-classifier.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '16' }, epochs: { type: 'string' }, out: { type: 'string' }, root: { type: 'string' } } });
const size = Number(values.size) as FashionEvalSize;
if (size !== 16 && size !== 32) throw new Error('--size must be 16 or 32');
const recipe = fashionEvaluatorRecipe(size, values.epochs !== undefined ? Number(values.epochs) : undefined);
const backend = useBackend();
const out = values.out ?? fashionEvaluatorPath(size);
console.error(`training the ${size}px Fashion-MNIST evaluator (${recipe.train.epochs} epochs, backend ${backend.name}) → ${out}`);
const t = trainFashionEvaluator(size, {
  root: values.root, recipe,
  onLog: (r) => console.error(`step ${r.step}/${r.steps}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${r.imgPerS.toFixed(0)} img/s`),
});
saveFashionEvaluator(out, t, recipe);
console.log(JSON.stringify({ size, out, test_accuracy: t.test.overall, per_class: t.test.perClass.map((a) => Number(a.toFixed(4))), steps: t.steps, seconds: Math.round(t.seconds) }));
