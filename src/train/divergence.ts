/**
 * A watch on the logged denoising loss that says, once, when a run diverges while its numbers stay
 * finite. A non-finite loss already stops training (src/train/step.ts); a finite blow-up did not:
 * `--method cm` at λ 1 went from L_ddpm 0.035 at step 1,400 to 1.09 at 1,500 and 21,277 at 2,000
 * on shapes10-lt (docs/RESULTS.md §8), and its checkpoints sampled noise without a word in the log.
 *
 * The ε-prediction loss of a run that trains stays within a few times its recent level (one batch
 * of random timesteps moves it by ~2×); it only climbs by an order of magnitude when the weights
 * run away. So: a logged value above `factor` × the median of the previous `window` logged values,
 * twice in a row (one unlucky batch is not a trend), is reported; early training, where the loss
 * falls, never is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { median } from '../util/median.ts';

export interface DivergenceReport {
  step: number;
  /** The median of the logged values before the rise. */
  before: number;
  /** The logged value that confirmed it. */
  now: number;
}

export class DivergenceWatch {
  private readonly history: number[] = [];
  private pending = false;
  private reported = false;

  constructor(private readonly factor = 10, private readonly window = 10) {}

  /** Feed one logged L_ddpm; returns a report the first time the rise is confirmed, else null. */
  observe(step: number, loss: number): DivergenceReport | null {
    if (this.reported || !Number.isFinite(loss)) return null;
    const recent = this.history.slice(-this.window);
    const before = recent.length >= 3 ? median(recent) : NaN;
    const high = Number.isFinite(before) && loss > this.factor * before;
    let report: DivergenceReport | null = null;
    if (high && this.pending) {
      this.reported = true;
      report = { step, before, now: loss };
    }
    this.pending = high;
    // A high value is not let into the reference, so a run that keeps climbing stays measured
    // against the level it left.
    if (!high) this.history.push(loss);
    return report;
  }
}

/**
 * The watch of a resumed run: it has seen the L_ddpm values already in its metrics.jsonl (trimmed
 * to the checkpoint it resumes from), so a rise across the resume is measured against the level
 * before it. Without them the watch started empty at every resume and missed a blow-up that began
 * there: a CM run resumed at step 2,000 went 0.38 → 59.7 → 99.1 and was flagged only at 2,400,
 * against a median of those high values. `report` is set when the logged values had already
 * diverged (the caller says so once more).
 */
export function resumedWatch(metricsPath: string, watch = new DivergenceWatch()): { watch: DivergenceWatch; report: DivergenceReport | null } {
  let report: DivergenceReport | null = null;
  if (!existsSync(metricsPath)) return { watch, report };
  for (const line of readFileSync(metricsPath, 'utf8').split('\n')) {
    let rec: { step?: unknown; l_ddpm?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;  // a blank or foreign line
    }
    if (typeof rec.step === 'number' && typeof rec.l_ddpm === 'number') report = watch.observe(rec.step, rec.l_ddpm) ?? report;
  }
  return { watch, report };
}
