/**
 * Engine-independent diffusion maths: the DDPM schedule, the forward process, the samplers
 * (ancestral DDPM, DDIM) behind one ε-model signature, classifier-free guidance, and the random
 * inputs of a DDPM/CBDM training step. See docs/SAMPLING.md for defaults and protocols.
 */
export { addNoise, defaultSchedule, linearBetas, makeSchedule, modelLogVariance } from './schedule.ts';
export type { BetaPrecision, Schedule, VarianceType } from './schedule.ts';
export { batchSize, classifierFreeGuidance, sampleEvalLabels } from './model.ts';
export type { EpsModel } from './model.ts';
export { ddpmAncestral, ddpmStep } from './ddpm.ts';
export type { ClipX0, DdpmOptions, StepInfo } from './ddpm.ts';
export { ddim, ddimSigma, ddimStep, ddimTimesteps } from './ddim.ts';
export type { DdimOptions } from './ddim.ts';
export { cbdmWeights, drawLabelDrop, sampleCbdmLabels, sampleTrainingInputs } from './training.ts';
export type { LabelPrior, TrainingInputs } from './training.ts';
