/** The engine's public API: tensors, scopes, autograd, ops, backends. */
export { Tensor, empty, shapeSize, fmtShape } from './tensor.ts';
export { tidy, keep, noGrad, liveTensorCount, currentBackend, setCurrentBackend } from './context.ts';
export { backward, record } from './autograd.ts';
export { useBackend, getBackend, backendAvailable, BACKEND_NAMES } from './backends.ts';
export type { Backend, BackendName, Storage, ConvGeom, GroupNormGeom, AdamParams } from './backend.ts';
export type { DType, FloatArray } from './dtype.ts';
export { tensor, zeros, full, randn, rand } from './ops/create.ts';
export { add, sub, mul, affine, scale } from './ops/arith.ts';
export { sum, mean, mse, weightedMse } from './ops/reduce.ts';
export { swish, relu } from './ops/activation.ts';
export { matmul, linear } from './ops/linear.ts';
export { conv2d, convGeom } from './ops/conv2d.ts';
export { groupNorm } from './ops/groupnorm.ts';
