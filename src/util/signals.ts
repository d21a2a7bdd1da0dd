/**
 * Ctrl-C and SIGTERM as an AbortSignal, for the commands that stop gracefully (training writes a
 * checkpoint after the step in progress). The library itself installs no process handlers: a
 * caller passes its own AbortSignal.
 */

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface SignalStop {
  /** Aborted, with the signal's name as its reason, at the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Remove the handlers (call when the work is done). */
  dispose(): void;
}

/**
 * Abort on the first SIGINT/SIGTERM, printing `message(sig)` on stderr. The handlers then step
 * aside, so a second signal gets the default action and ends the process at once, e.g. during a
 * slow checkpoint write (every file is written atomically, so the last complete one stays valid).
 */
export function stopOnSignals(message: (sig: StopSignal) => string): SignalStop {
  const controller = new AbortController();
  const dispose = () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  function onSignal(sig: StopSignal): void {
    dispose();
    console.error(message(sig));
    controller.abort(sig);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose };
}

/** The signal that aborted `signal` through stopOnSignals (SIGINT for any other abort). */
export function stopSignalOf(signal: AbortSignal | undefined): StopSignal {
  return signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
}
