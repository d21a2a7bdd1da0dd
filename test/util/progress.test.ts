import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatDuration } from '../../src/util/progress.ts';

test('off a terminal, progress is one line every intervalS seconds and a final line (nohup, SLURM logs)', () => {
  let t = 0;
  const lines: string[] = [];
  const bar = new Progress(1000, { label: 'cbdm tiny', unit: 'step', mode: 'lines', intervalS: 30, write: (l) => lines.push(l), now: () => t });
  for (let step = 1; step <= 400; step++) {
    t = step * 250;  // 4 steps/s
    bar.update(step, { loss: '0.1234' });
  }
  bar.stop();
  // 100 s: lines at 30, 60 and 90 s, then the final one
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.equal(lines[0], 'cbdm: cbdm tiny: 120/1000 steps (12.0 %), 4.00 steps/s, 30s elapsed, ETA 3m40s, loss 0.1234');
  assert.match(lines[3]!, /^cbdm: cbdm tiny: 400\/1000 steps \(40\.0 %\), 4\.00 steps\/s, 1m40s elapsed, ETA 2m30s/);

  // a job shorter than one interval prints nothing; enabled: false never prints
  const quiet: string[] = [];
  const short = new Progress(10, { label: 'x', unit: 'image', mode: 'lines', write: (l) => quiet.push(l), now: () => 0 });
  short.update(10);
  short.stop();
  const off = new Progress(10, { label: 'x', unit: 'image', enabled: false, write: (l) => quiet.push(l), now: () => (t += 1e6) });
  off.update(5);
  off.stop();
  assert.deepEqual(quiet, []);
  assert.equal(formatDuration(4000), '1h06m40s');
});
