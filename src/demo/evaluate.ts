/**
 * Evaluation of a run on a dataset with its own classifier: generate a balanced set of samples
 * per class, compare them with a balanced reference set of the class in the classifier's feature
 * space, and measure memorisation. Two datasets have one:
 *   shapes10/100-lt   reference = fresh samples of the known generator (the ground truth for
 *                     "tail diversity"), features of the shapes domain classifier (domain.ts);
 *   fashion-mnist-lt  reference = the balanced 10k test split (1,000 per class, resampled like the
 *                     training data), features of the Fashion-MNIST evaluator (fashion-classifier.ts).
 *
 * Metrics per class (and as Many/Medium/Few means):
 *   fid        FID in the classifier's feature space between generated and reference images (↓)
 *   precision  improved precision, k = 5 (↑: samples look like the class)
 *   recall     improved recall, k = 5 (↑: samples cover the class's variety)
 *   accuracy   fraction of samples the classifier assigns to the class (↑); on shapes10
 *              every class has its own hue, so colour alone can score here (a blurred real
 *              image that keeps only the colour: 0.54, measured on 500 images at 16 px)
 *   shape_accuracy  (shapes only) fraction of samples whose shape family the shapes100 classifier recognises
 *              (↑): it must tell all ten shapes apart within every palette, so colour alone
 *              scores at chance (the same blurred images: 0.12; real images 0.99)
 *   nn_ratio   mean pixel distance of a sample to its nearest training image of the class,
 *              divided by the same for the reference images (≈1 healthy, → 0 memorised)
 */
import { join } from 'node:path';
import type { UNet } from '../models/unet.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { parseDatasetName } from '../data/registry.ts';
import { sampleShapesBalanced } from '../data/shapes.ts';
import { shapeOfClass } from '../data/shapes-families.ts';
import { loadFashionMnist } from '../data/fashion-mnist.ts';
import { generate, type SampleProtocol, type SamplerName } from '../diffusion/generate.ts';
import type { Spacing } from '../diffusion/grid.ts';
import type { Schedule } from '../diffusion/schedule.ts';
import { domainExtractor, type ClassifierExtractor } from '../metrics/domain.ts';
import { fashionExtractor } from '../metrics/fashion-classifier.ts';
import { withPrecision } from '../engine/backends.ts';
import { perClassFid, perClassPrecisionRecall } from '../metrics/per-class.ts';
import { classGroup, CLASS_GROUPS, type ClassGroup } from '../data/groups.ts';
import { nearestTrainingImages, nearestPanelPng } from '../report/nearest.ts';
import { writeEvalJson, writeNearestPanel, type EvalResult, type MetricValues, type PerClassEval } from '../report/run-dir.ts';
import { floatToUint8 } from '../io/png-grid.ts';
import { writeSamplesNpz, writeClassGrids } from '../diffusion/samples-file.ts';
import { CbdmError } from '../util/errors.ts';

/** Seed of the reference samples (disjoint from training and from the domain classifier's data). */
export const DEMO_REFERENCE_SEED = 424_242;

export interface DomainEvalOptions {
  perClass: number;
  samplerSteps: number;
  omega: number;
  seed: number;
  batch: number;
  /** x̂0 clipping in the sampler (default 'none', as the published sampler behaves). */
  clipX0?: 'none' | 'clip';
  /** DDIM η (default 0: deterministic). */
  eta?: number;
  /** Sampler (default ddim) and its grid spacing (default: the sampler's own). */
  sampler?: SamplerName;
  spacing?: Spacing;
  onBatch?: (done: number, total: number) => void;
}

/** The balanced reference images of an evaluation and how to describe them in eval.json. */
export interface EvalReference {
  images: Uint8Array;
  labels: Int32Array;
  description: string;
}

/** The shape-only check of the shapes datasets: a classifier and when its prediction has the class's shape. */
export interface ShapeCheck {
  ex: ClassifierExtractor;
  sameShape(predicted: number, cls: number): boolean;
}

/** What `evaluateRunAgainst` compares samples with: reference images, feature classifier, shape check (shapes only). */
export interface EvalSetup {
  ref: EvalReference;
  ex: ClassifierExtractor;
  shape: ShapeCheck | null;
}

/** Reference set and feature classifier of a dataset that has its own classifier (see the module comment). */
export async function referenceFor(ds: ImageDataset, perClass: number, opts: { root?: string } = {}): Promise<EvalSetup> {
  const kind = parseDatasetName(ds.name.replace(/-test$/, ''));
  switch (kind.kind) {
    case 'shapes': {
      const size = ds.size as 16 | 32;
      const ref = sampleShapesBalanced({ classes: kind.classes, size, perClass, seed: DEMO_REFERENCE_SEED });
      const ex = await domainExtractor(kind.classes, size);
      const shapeEx = kind.classes === 100 ? ex : await domainExtractor(100, size);
      return {
        ref: { images: ref.images, labels: ref.labels, description: `fresh generator samples, ${perClass}/class, seed ${DEMO_REFERENCE_SEED}` },
        ex, shape: { ex: shapeEx, sameShape: (p, c) => shapeOfClass(p) === shapeOfClass(c) },
      };
    }
    case 'fashion-mnist': {
      const test = loadFashionMnist({ root: opts.root, split: 'test', size: ds.size });
      return { ref: { images: test.images, labels: test.labels, description: `fashion-mnist test split, ${test.labels.length / test.numClasses}/class at ${ds.size}px` }, ex: fashionExtractor(ds.size), shape: null };
    }
    case 'cifar':
    case 'folder':
      throw new CbdmError(`${ds.name} has no classifier of its own for the per-class domain evaluation; evaluate its samples with cbdm eval --extractor inception`);
    default: {
      const never: never = kind;
      throw new CbdmError(`unknown dataset kind ${JSON.stringify(never)}`);
    }
  }
}

/** Generate, evaluate against the dataset's reference, and write samples.npz, samples/, nn/ and eval.json into the run directory. */
export async function evaluateRun(dir: string, net: UNet, ds: ImageDataset, sched: Schedule, o: DomainEvalOptions & { root?: string }): Promise<EvalResult> {
  return evaluateRunAgainst(dir, net, ds, sched, o, await referenceFor(ds, o.perClass, { root: o.root }));
}

/** Generate balanced samples of `net` and evaluate them against `ref` in `ex`'s feature space (see the module comment). */
export async function evaluateRunAgainst(dir: string, net: UNet, ds: ImageDataset, sched: Schedule, o: DomainEvalOptions, setup: EvalSetup): Promise<EvalResult> {
  const { ref, ex, shape } = setup;
  const C = ds.numClasses;
  const S = ds.size;
  const D = ds.channels * S * S;
  if (net.config.channels !== ds.channels || net.config.imageSize !== S) throw new CbdmError(`the model makes ${net.config.channels}×${net.config.imageSize}² images but ${ds.name} has ${ds.channels}×${S}²`);
  const gen = await generate(net, sched, {
    n: o.perClass * C, labels: { kind: 'balanced' }, sampler: o.sampler ?? 'ddim', spacing: o.spacing, steps: o.samplerSteps, eta: o.eta ?? 0, omega: o.omega,
    variance: 'fixedlarge', clip: o.clipX0 === 'clip' ? 'clamp' : 'none', batch: o.batch, seed: o.seed, onBatch: o.onBatch,
  });
  writeSamplesNpz(join(dir, 'samples.npz'), gen.x, gen.y, S, gen.protocol, ds.channels);
  writeClassGrids(join(dir, 'samples'), gen.x, gen.y, S, C, 32, ds.channels);

  const genU8 = floatToUint8(gen.x);
  // features in fp32 whatever CBDM_PRECISION says (it sets training and sampling precision only)
  const { fg, fr, pred, shapePred } = withPrecision('fp32', () => ({
    fg: ex.extract(genU8, gen.y.length, S).features,
    fr: ex.extract(ref.images, ref.labels.length, S).features,
    pred: ex.classify(genU8, gen.y.length),
    shapePred: shape ? shape.ex.classify(genU8, gen.y.length) : null,
  }));
  const real = { feats: fr, labels: ref.labels, n: ref.labels.length };
  const fake = { feats: fg, labels: gen.y, n: gen.y.length };
  const fid = perClassFid(real, fake, ex.dim, ds.counts);
  const pr = perClassPrecisionRecall(real, fake, ex.dim, ds.counts, { k: 5 });

  const perClass: PerClassEval[] = [];
  let correctAll = 0;
  let shapeAll = 0;
  const nnRatios: number[] = [];
  const pick = (src: Uint8Array, rows: number[]) => {
    const out = new Uint8Array(rows.length * D);
    rows.forEach((r, k) => out.set(src.subarray(r * D, (r + 1) * D), k * D));
    return out;
  };
  const PANEL_K = 3;
  for (let c = 0; c < C; c++) {
    const idx: number[] = [];
    for (let i = 0; i < gen.y.length; i++) if (gen.y[i] === c) idx.push(i);
    const correct = idx.filter((i) => pred[i] === c).length;
    correctAll += correct;
    const shapeCorrect = shape && shapePred ? idx.filter((i) => shape.sameShape(shapePred[i]!, c)).length : 0;
    shapeAll += shapeCorrect;
    const gImgs = pick(genU8, idx);
    const refRows: number[] = [];
    for (let i = 0; i < ref.labels.length; i++) if (ref.labels[i] === c) refRows.push(i);
    // One search serves both the ratio (nearest distance) and the panel (k nearest images).
    const nnGen = nearestTrainingImages(gImgs, ds.images, ds.labels, c, PANEL_K);
    const nnRef = nearestTrainingImages(pick(ref.images, refRows), ds.images, ds.labels, c, 1);
    const mean = (nb: typeof nnGen) => nb.reduce((s, n) => s + n.distances[0]!, 0) / Math.max(1, nb.length);
    const ratio = mean(nnGen) / mean(nnRef);
    nnRatios.push(ratio);
    perClass.push({
      class: c, name: ds.classNames[c]!, count: ds.counts[c]!, group: classGroup(ds.counts[c]!),
      fid: fid.perClass[c]!.fid, precision: pr.perClass[c]!.precision, recall: pr.perClass[c]!.recall,
      accuracy: correct / idx.length, ...(shape ? { shape_accuracy: shapeCorrect / idx.length } : {}), nn_ratio: ratio,
    });
    if (classGroup(ds.counts[c]!) === 'few' || c >= C - 3) {
      const show = Math.min(8, idx.length);
      writeNearestPanel(dir, c, nearestPanelPng(gImgs.subarray(0, show * D), ds.images, nnGen.slice(0, show), { c: ds.channels, h: S, w: S }));
    }
  }
  const groups = {} as Record<ClassGroup, MetricValues>;
  for (const g of CLASS_GROUPS) {
    const rows = perClass.filter((r) => r.group === g);
    const avg = (k: string) => (rows.length ? rows.reduce((s, r) => s + (r[k] as number), 0) / rows.length : null);
    groups[g] = { fid: avg('fid'), precision: avg('precision'), recall: avg('recall'), accuracy: avg('accuracy'), ...(shape ? { shape_accuracy: avg('shape_accuracy') } : {}), nn_ratio: avg('nn_ratio') };
  }
  const result: EvalResult = {
    protocol: { ...protocolOf(gen.protocol, o.perClass, ex.name), clipX0: o.clipX0 ?? 'none' },
    overall: {
      fid: fid.overall.fid, precision: pr.overall?.precision ?? null, recall: pr.overall?.recall ?? null,
      accuracy: correctAll / gen.y.length, ...(shape ? { shape_accuracy: shapeAll / gen.y.length } : {}), nn_ratio: nnRatios.reduce((a, b) => a + b, 0) / nnRatios.length,
    },
    perClass, groups, created: new Date().toISOString(),
    reference: ref.description,
    groupMeans: 'group values are unweighted means over the group\'s classes',
  };
  writeEvalJson(dir, result);
  return result;
}

function protocolOf(p: SampleProtocol, perClass: number, extractor: string): EvalResult['protocol'] {
  return { sampler: p.sampler, steps: p.steps, ...(p.nfe !== undefined ? { nfe: p.nfe } : {}), ...(p.spacing ? { spacing: p.spacing } : {}), omega: p.omega, eta: p.eta, nPerClass: perClass, featureExtractor: extractor };
}
