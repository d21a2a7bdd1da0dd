/**
 * Every subcommand module registers itself here: one import and one list entry each.
 */
import type { Command } from 'commander';
import { register as registerData } from './data.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerData];
