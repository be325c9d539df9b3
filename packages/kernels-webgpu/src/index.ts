/** @packageDocumentation @strata/kernels-webgpu — see README.md. */
export { createWebGpuBackend, WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';
export type { DeviceOptions, GpuFeatures } from './device/acquire-device.js';
export { DEFAULT_DAWN_FEATURES } from './device/dawn-flags.js';
export { GpuRuntime } from './runtime/runtime.js';
export type { QuantMatvecLayout, QuantMatvecTuning, QuantMatvecTunings } from './kernels/matmul/quant-matvec-shader.js';
export {
  BATCH_SUBGROUP_MATRIX_TILING,
  type SubgroupMatrixGemmTiling,
} from './kernels/matmul/int8/int8-gemm-shader.js';
export { DEFAULT_WEBGPU_TUNING, MAX_DECODE_KEYS_PER_SPLIT, type WebGpuTuning } from './runtime/tuning.js';
export type { KernelManifest, KernelManifestEntry } from './runtime/pipeline-cache.js';
export { compileKernelsAhead, kernelManifest, parseKernelManifest } from './runtime/kernel-warm-up.js';
export { GpuTensor } from './tensor/gpu-tensor.js';
export { GpuWeight, type WeightChunk } from './weights/gpu-weight.js';
export { type ShaderSpec, type StorageAccess, Uniforms, linearGrid, MAX_UNIFORM_BYTES } from './runtime/shader.js';
export type { BufferBinding, DispatchCommand } from './runtime/recorder.js';
export { DispatchTimer, MAX_TIMED_DISPATCHES, type TimedDispatch } from './runtime/dispatch-timer.js';
