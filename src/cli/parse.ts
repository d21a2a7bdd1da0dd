/** Option parsers shared by the subcommands: bad values become clear CbdmErrors. */
import { CbdmError } from '../util/errors.ts';

/** A finite number. */
export function num(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new CbdmError(`expected a number, got '${v}'`);
  return x;
}

/** An integer. */
export function int(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x)) throw new CbdmError(`expected an integer, got '${v}'`);
  return x;
}

/** A positive integer. */
export function posInt(v: string): number {
  const x = int(v);
  if (x < 1) throw new CbdmError(`expected a positive integer, got '${v}'`);
  return x;
}
