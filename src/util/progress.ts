/**
 * Progress bars with ETA and throughput on a TTY (cli-progress); silent otherwise, so logs and CI
 * output stay clean.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  label: string;
  unit: string;
  /** Default: stderr is a TTY. */
  enabled?: boolean;
  start?: number;
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;

  constructor(total: number, opts: ProgressOptions) {
    const enabled = opts.enabled ?? Boolean(process.stderr.isTTY);
    if (!enabled) return;
    this.bar = new cliProgress.SingleBar({
      format: `${opts.label} [{bar}] {value}/{total} ${opts.unit}s | {percentage}% | ETA {eta_formatted} | {extra}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(total, opts.start ?? 0, { extra: '' });
  }

  /** Move to `value`; `fields` are shown after the ETA (e.g. loss, img/s). */
  update(value: number, fields: Record<string, string> = {}): void {
    if (!this.bar) return;
    this.bar.update(value, { extra: Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' | ') });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
