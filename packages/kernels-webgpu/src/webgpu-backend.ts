import type { Backend, StepBody, StepInputShapes, StepPlan } from '@strata/core';
import { type AcquiredDevice, acquireDevice, type DeviceOptions } from './device/acquire-device.js';
import { ErrorTracker } from './device/error-tracker.js';
import { WebGpuEncoderRoutingSamplingOps } from './backend/encoder-routing-sampling-ops.js';
import { GpuRuntime } from './runtime/runtime.js';
import { GpuStepPlan } from './runtime/step-plan.js';
import { resolveTuning, type WebGpuTuning } from './runtime/tuning.js';

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions extends DeviceOptions {
  /**
   * Largest bytes of one weight chunk; defaults to the device's `maxStorageBufferBindingSize`. Smaller values exercise
   * the chunked paths in tests.
   */
  readonly maxChunkBytes?: number;
  /**
   * Kernel tunables over the defaults (`DEFAULT_WEBGPU_TUNING`; tests and benchmarks), e.g.
   * `{ decodeAttentionMinKeysPerSplit: 16 }` or `{ quantMatvec: { Q4_K: { layout: 'vector', rowsPerWorkgroup: 4 } } }`
   * (the one-row quantized kernel variants, `kernels/matmul/quant-matvec-shader.ts`). Checked before a device is
   * acquired: a key-split floor out of range throws `INVALID_ARGUMENT`, a quantized tuning no kernel can take
   * `INVALID_CONFIG`.
   */
  readonly tuning?: Partial<WebGpuTuning>;
}

/**
 * The WebGPU implementation of {@link Backend}. Ops are recorded into one command encoder and submitted at `read` or
 * `flush`; see the package README for the design. The ops are wired by family in `src/backend/` (memory and transfer,
 * linear algebra, element-wise and norms, attention and KV caches, encoders, routing and sampling), each family a
 * class this one extends.
 */
export class WebGpuBackend extends WebGpuEncoderRoutingSamplingOps implements Backend {
  constructor(acquired: AcquiredDevice, options: WebGpuBackendOptions = {}) {
    super(acquired, createRuntime(acquired, options));
  }

  // ── captured steps (src/runtime/step-plan.ts) ───────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.captureStep}: the first run records the body's dispatches; every run then writes the ids and the
   * position-dependent uniforms and re-encodes the recording (no per-op work on the CPU).
   */
  captureStep(rows: number, body: StepBody, inputShapes?: StepInputShapes): StepPlan {
    return new GpuStepPlan(this.runtime, rows, body, inputShapes);
  }
}

/**
 * Creates a WebGPU backend: `navigator.gpu` in browsers and workers; in Node the optional `webgpu` package (Dawn).
 * Throws `NO_ADAPTER` when there is no WebGPU adapter, `INVALID_ARGUMENT` for a key-split floor out of range and
 * `INVALID_CONFIG` for a `tuning.quantMatvec` entry no kernel can take. Call `destroy()` when done so Node can exit.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const tuning = resolveTuning(options.tuning);
  const acquired = await acquireDevice(options, { subgroupMatrix: tuning.int8Prefill });
  return new WebGpuBackend(acquired, options);
}

/** The runtime of a backend on `acquired`: its error tracker, chunk limit and resolved tunings. */
function createRuntime(acquired: AcquiredDevice, options: WebGpuBackendOptions): GpuRuntime {
  const device = acquired.device;
  const errors = new ErrorTracker(device);
  const maxChunkBytes = Math.min(
    options.maxChunkBytes ?? Number.POSITIVE_INFINITY,
    device.limits.maxStorageBufferBindingSize,
    device.limits.maxBufferSize,
  );
  return new GpuRuntime(device, acquired.features, errors, maxChunkBytes, resolveTuning(options.tuning));
}
