import { StrataError, type Tensor, type WeightTensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

// Placeholder entry point, owned and replaced by the weight-kernel work (see ../README.md).

/** Rows of `table` `[vocabulary, width]` for i32 `ids` `[rows]`, times `scale`: f32 `[rows, width]`. */
export function embedding(runtime: GpuRuntime, table: WeightTensor, ids: Tensor, scale: number): GpuTensor {
  void runtime;
  void ids;
  void scale;
  throw new StrataError(
    'UNSUPPORTED_TENSOR_TYPE',
    `embedding on WebGPU is not implemented yet (table type ${table.type}).`,
  );
}
