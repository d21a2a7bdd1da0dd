/**
 * User-facing errors: the message says what was wrong and what to do. The CLI prints these
 * without a stack trace; anything else is a bug and keeps its stack.
 */
export class CbdmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CbdmError';
  }
}
