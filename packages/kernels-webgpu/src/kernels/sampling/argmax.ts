import { StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

/** Index of the largest value of each row. */
export function argmax(runtime: GpuRuntime, input: Tensor): GpuTensor {
  void runtime;
  void input;
  throw new StrataError('INVALID_ARGUMENT', 'argmax: in progress');
}
