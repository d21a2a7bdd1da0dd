/**
 * Engine-independent diffusion maths: the DDPM schedule, the forward process, the samplers
 * (ancestral DDPM, DDIM, Euler, Heun, DPM-Solver++, UniPC) behind one signature, classifier-free guidance, and the random
 * inputs of a DDPM/CBDM training step. See docs/SAMPLING.md for defaults and protocols.
 */
export { addNoise, defaultSchedule, linearBetas, makeSchedule, modelLogVariance } from './schedule.ts';
export type { BetaPrecision, Schedule, VarianceType } from './schedule.ts';
export { batchSize, classifierFreeGuidance, sampleEvalLabels } from './model.ts';
export type { EpsModel } from './model.ts';
export { ddpmAncestral, ddpmStep } from './ddpm.ts';
export { ddim, ddimSigma, ddimStep, ddimTimesteps } from './ddim.ts';
export { euler, heun } from './euler.ts';
export { dpmSolverPP2M, dpmSolverPP3M } from './dpm-solver.ts';
export { unipc, unipc3 } from './unipc.ts';
export { makeGrid, SPACINGS } from './grid.ts';
export type { Grid, Spacing } from './grid.ts';
export { solveOnGrid, X0_CLIPS } from './sampler.ts';
export type { GridSolver, SamplerFn, SamplerOptions, StepInfo, X0Clip } from './sampler.ts';
export { SAMPLERS, SAMPLER_NAMES, resolveSampling, samplerByName, samplerOptions } from './samplers.ts';
export type { SamplerInfo, SamplerName } from './samplers.ts';
export { cbdmWeights, drawLabelDrop, sampleCbdmLabels, sampleTrainingInputs } from './training.ts';
export type { LabelPrior, TrainingInputs } from './training.ts';
