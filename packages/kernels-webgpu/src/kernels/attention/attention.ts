import { type AttentionOptions, type KeyValueCache, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

/** Causal attention over the cache (being written). */
export function attention(
  runtime: GpuRuntime,
  queries: Tensor,
  cache: KeyValueCache,
  options: AttentionOptions,
): GpuTensor {
  void runtime;
  void queries;
  void cache;
  void options;
  throw new StrataError('INVALID_ARGUMENT', 'attention: in progress');
}
