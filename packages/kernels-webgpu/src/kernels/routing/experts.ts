import { type ExpertRouting, type ExpertRoutingOptions, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

/** Softmax + top-k per row. */
export function routeExperts(runtime: GpuRuntime, logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
  void runtime;
  void logits;
  void options;
  throw new StrataError('INVALID_ARGUMENT', 'routeExperts: in progress');
}

/** Weighted sum of slot rows. */
export function combineExperts(runtime: GpuRuntime, slots: Tensor, weights: Tensor): GpuTensor {
  void runtime;
  void slots;
  void weights;
  throw new StrataError('INVALID_ARGUMENT', 'combineExperts: in progress');
}
