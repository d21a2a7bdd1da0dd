// onnxruntime-node peer of `cbdm bench train`: image·steps/s of DDPM sampling (one ε-network
// forward per image and step) with an ONNX model of the PyTorch peer's UNet
// (bench/peers/export_onnx.py), on the CPU execution provider with `threads` intra-op threads.
// Prints one JSON object. Usage:
//   node bench/peers/onnxruntime.mjs '{"model":"M.onnx","batch":64,"size":16,"ncls":10,"threads":2,"reps":3}'
// Optional keys: "clock": "cpu" (process CPU time of all threads; default wall), "warmup": n
// untimed runs (default 1), "spin": false (idle intra-op threads sleep at once:
// session.intra_op.allow_spinning 0; default true, onnxruntime's own default).
import * as ort from 'onnxruntime-node';

const c = JSON.parse(process.argv[2]);
const cpu = c.clock === 'cpu';
const now = () => {
  if (!cpu) return performance.now() / 1000;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const spin = c.spin !== false;
const session = await ort.InferenceSession.create(c.model, {
  intraOpNumThreads: c.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
});
const B = c.batch, S = c.size;
// Deterministic inputs (their values do not change the work): x in [-1, 1), t = 500, y = i mod classes.
const x = Float32Array.from({ length: B * 3 * S * S }, (_, i) => ((i * 2654435761) % 1000) / 500 - 1);
const feeds = {
  x: new ort.Tensor('float32', x, [B, 3, S, S]),
  t: new ort.Tensor('int64', new BigInt64Array(B).fill(500n), [B]),
  y: new ort.Tensor('int64', BigInt64Array.from({ length: B }, (_, i) => BigInt(i % c.ncls)), [B]),
};
for (let i = 0; i < (c.warmup ?? 1); i++) await session.run(feeds);
const times = [];
for (let r = 0; r < c.reps; r++) {
  const t0 = now();
  await session.run(feeds);
  times.push(now() - t0);
}
times.sort((a, b) => a - b);
await session.release();
console.log(JSON.stringify({ sample_img_steps_s: B / times[Math.floor(times.length / 2)], onnxruntime: ort.env.versions.node, spin }));
