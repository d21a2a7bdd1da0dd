/**
 * Every subcommand module registers itself here: one import and one list entry each.
 */
import type { Command } from 'commander';
import { register as registerData } from './data.ts';
import { register as registerTrain } from './train.ts';
import { register as registerSample } from './sample.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerReport } from './report.ts';
import { register as registerClassify } from './classify.ts';
import { register as registerBench } from './bench.ts';
import { register as registerEval } from './eval.ts';
import { register as registerServe } from './serve.ts';
import { register as registerExport } from './export.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerData, registerTrain, registerSample, registerDemo, registerClassify, registerReport, registerEval, registerExport, registerBench, registerServe];
