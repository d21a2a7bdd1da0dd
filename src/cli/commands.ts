/**
 * Every subcommand module, loaded only when its command runs: `cbdm --help` and `cbdm --version`
 * load none of them (their imports reach the engine, the native addon and sharp, which take
 * seconds). Each entry names the top-level commands its module registers, with the line that the
 * root help prints for each (a test checks these lines against the modules' own help).
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export interface CommandModule {
  /** Top-level commands the module registers, in help order. */
  commands: ReadonlyArray<{ name: string; term: string; description: string }>;
  load: () => Promise<{ register: RegisterCommand }>;
}

export const COMMAND_MODULES: readonly CommandModule[] = [
  { commands: [{ name: 'data', term: 'data', description: 'inspect or export datasets (embedded shapes, CIFAR-10/100(-LT), Fashion-MNIST(-LT), image folders)' }], load: () => import('./data.ts') },
  {
    commands: [
      { name: 'train', term: 'train [options]', description: 'train a class-conditional DDPM, CBDM, T2H or CM (approximate) model (DDPM/CBDM optionally with CORAL) into a run directory' },
      { name: 'model', term: 'model', description: 'inspect model presets' },
    ],
    load: () => import('./train.ts'),
  },
  { commands: [{ name: 'sample', term: 'sample [options]', description: 'generate images with DDPM/DDIM and classifier-free guidance from a run or a checkpoint' }], load: () => import('./sample.ts') },
  { commands: [{ name: 'demo', term: 'demo [options]', description: 'DDPM vs CBDM on shapes10-lt (or fashion-mnist-lt): sample the shipped pretrained tiny models (or train them with --train), evaluate per class and group, write report.html' }], load: () => import('./demo.ts') },
  {
    commands: [
      { name: 'classify', term: 'classify [options]', description: 'downstream recognition: train a classifier on the real long-tailed set (+ generated samples) and report balanced test accuracy, overall and Many/Medium/Few' },
      { name: 'domain-train', term: 'domain-train [options]', description: 'train the shapes domain classifier (features and per-sample class checks for eval) and write its weights' },
    ],
    load: () => import('./classify.ts'),
  },
  { commands: [{ name: 'report', term: 'report [options]', description: 'write a self-contained HTML report comparing run directories (samples per class, Many/Medium/Few, mean ± sd over seeds, curves)' }], load: () => import('./report.ts') },
  { commands: [{ name: 'eval', term: 'eval [options]', description: 'FID / IS / KID / precision / recall of samples against reference statistics, overall, per class and per Many/Medium/Few group' }], load: () => import('./eval.ts') },
  { commands: [{ name: 'export', term: 'export', description: 'export a model as a PyTorch state dict or an ONNX model, or samples as PNG files' }], load: () => import('./export.ts') },
  { commands: [{ name: 'bench', term: 'bench [options] <target>', description: 'benchmark kernels (gemm, conv) and the training step (train) against a peer measured in the same run' }], load: () => import('./bench.ts') },
  { commands: [{ name: 'serve', term: 'serve [options]', description: 'open a run in the browser sampler: pick class, ω, solver, steps and seed and watch the denoising (WebGPU, else js), on 127.0.0.1 only' }], load: () => import('./serve.ts') },
];

/** The module that registers top-level command `name`, or undefined. */
export function moduleOf(name: string): CommandModule | undefined {
  return COMMAND_MODULES.find((m) => m.commands.some((c) => c.name === name));
}
