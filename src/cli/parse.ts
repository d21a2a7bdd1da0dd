/**
 * Option parsers shared by the subcommands. They throw commander's InvalidArgumentError, which
 * commander reports naming the flag: `cbdm: error: option '--steps <n>' argument 'abc' is
 * invalid. expected an integer, got 'abc'` (exit code 2).
 */
import { InvalidArgumentError } from 'commander';

/** A finite number. */
export function num(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError(`expected a number, got '${v}'`);
  return x;
}

/** An integer (a safe one: 1e999 or 2^60 are not counts). */
export function int(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(x)) throw new InvalidArgumentError(`expected an integer, got '${v}'`);
  return x;
}

/** A positive integer. */
export function posInt(v: string): number {
  const x = int(v);
  if (x < 1) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return x;
}
