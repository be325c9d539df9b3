import { type SamplingParameters, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

/** Samples one token. */
export function sampleToken(runtime: GpuRuntime, logits: Tensor, parameters: SamplingParameters): GpuTensor {
  void runtime;
  void logits;
  void parameters;
  throw new StrataError('INVALID_ARGUMENT', 'sampleToken: in progress');
}
