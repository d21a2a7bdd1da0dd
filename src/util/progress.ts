/**
 * Progress of long jobs on stderr: a bar with ETA and throughput on a terminal (cli-progress);
 * when stderr is not a terminal (nohup, SLURM, CI logs), one plain line every `intervalS`
 * seconds (default 30), so a log shows the job is alive without filling up with bar redraws.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  label: string;
  unit: string;
  /** true: a bar; false: nothing; default: a bar on a TTY, else progress lines. */
  enabled?: boolean;
  /** Overrides `enabled` when given (tests). */
  mode?: ProgressMode;
  start?: number;
  /** Seconds between progress lines when stderr is not a TTY (default 30). */
  intervalS?: number;
  /** Where progress lines go (default stderr) and the clock in ms (default performance.now); for tests. */
  write?: (line: string) => void;
  now?: () => number;
}

/** How progress is shown: a redrawn bar, plain lines every few seconds, or not at all. */
export type ProgressMode = 'bar' | 'lines' | 'off';

/** Default seconds between progress lines in a log. */
export const PROGRESS_LINE_SECONDS = 30;

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lines: { write: (line: string) => void; now: () => number; intervalMs: number; t0: number; last: number; start: number; printed: number } | null = null;
  private value = 0;
  private fields: Record<string, string> = {};

  constructor(private readonly total: number, private readonly opts: ProgressOptions) {
    this.value = opts.start ?? 0;
    const mode: ProgressMode = opts.mode ?? (opts.enabled === false ? 'off' : opts.enabled === true || process.stderr.isTTY ? 'bar' : 'lines');
    if (mode === 'off') return;
    if (mode === 'bar') {
      this.bar = new cliProgress.SingleBar({
        format: `${opts.label} [{bar}] {value}/{total} ${opts.unit}s | {percentage}% | ETA {eta_formatted} | {extra}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(total, this.value, { extra: '' });
      return;
    }
    const now = opts.now ?? (() => performance.now());
    const t0 = now();
    this.lines = {
      write: opts.write ?? ((line) => process.stderr.write(line + '\n')),
      now, intervalMs: (opts.intervalS ?? PROGRESS_LINE_SECONDS) * 1000, t0, last: t0, start: this.value, printed: 0,
    };
  }

  /** Move to `value`; `fields` are shown after the ETA (e.g. loss, img/s). */
  update(value: number, fields: Record<string, string> = {}): void {
    this.value = value;
    this.fields = fields;
    if (this.bar) {
      this.bar.update(value, { extra: Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' | ') });
      return;
    }
    const l = this.lines;
    if (l && l.now() - l.last >= l.intervalMs) {
      l.last = l.now();
      this.printLine();
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
    // A job that printed progress lines ends its log with the final count.
    if (this.lines && this.lines.printed > 0 && this.value !== this.lines.start) this.printLine();
    this.lines = null;
  }

  private printLine(): void {
    const l = this.lines!;
    const elapsedS = (l.now() - l.t0) / 1000;
    const rate = (this.value - l.start) / Math.max(elapsedS, 1e-9);
    const left = rate > 0 ? (this.total - this.value) / rate : NaN;
    const pct = this.total > 0 ? ` (${((100 * this.value) / this.total).toFixed(1)} %)` : '';
    const extra = Object.entries(this.fields).map(([k, v]) => `, ${k} ${v}`).join('');
    l.write(`cbdm: ${this.opts.label}: ${this.value}/${this.total} ${this.opts.unit}s${pct}, ${rate.toFixed(rate < 10 ? 2 : 1)} ${this.opts.unit}s/s, ${formatDuration(elapsedS)} elapsed, ETA ${formatDuration(left)}${extra}`);
    l.printed++;
  }
}

/** 75 → "1m15s", 4000 → "1h06m40s". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
