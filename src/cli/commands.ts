/**
 * Every subcommand module registers itself here: one import and one list entry each.
 */
import type { Command } from 'commander';
import { register as registerData } from './data.ts';
import { register as registerTrain } from './train.ts';
import { register as registerReport } from './report.ts';
import { register as registerClassify } from './classify.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerData, registerTrain, registerClassify, registerReport];
