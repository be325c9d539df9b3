import { StrataError, type Tensor, type WeightTensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { weightShader } from '../../wgsl/dequantize/index.js';
import {
  EMBEDDING_STORAGE,
  EMBEDDING_WORKGROUP_SIZE,
  embeddingKey,
  embeddingUniforms,
  embeddingWgsl,
} from './embedding-shader.js';

/**
 * Rows of `table` `[vocabulary, width]` (any weight type) for i32 `ids` `[rows]`, times `scale`: f32 `[rows, width]`.
 * Ids outside the vocabulary give zero rows.
 */
export function embedding(runtime: GpuRuntime, tableValue: WeightTensor, idsValue: Tensor, scale: number): GpuTensor {
  const table = runtime.weight(tableValue, 'embedding table');
  if (table.shape.length !== 2) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `The embedding table ${table.name} must be [vocabulary, width], got [${table.shape.join(', ')}].`,
      {
        details: { shape: [...table.shape] },
      },
    );
  }
  const type = table.storedType;
  weightShader(type);
  const [vocabulary, width] = table.shape as [number, number];
  const ids = runtime.tensor(idsValue, 'i32', 'token ids');
  const count = ids.size;
  const output = runtime.allocate('f32', [count, width]);
  if (count === 0) return output;
  const shader = { key: embeddingKey(type, width), code: () => embeddingWgsl(type, width), storage: EMBEDDING_STORAGE };
  const groups = linearGrid(Math.ceil((count * Math.ceil(width / 4)) / EMBEDDING_WORKGROUP_SIZE));
  for (const chunk of table.chunks) {
    runtime.dispatch({
      shader,
      uniforms: embeddingUniforms(width, table.rowBytes, count, chunk.firstRow, chunk.rows, vocabulary, scale),
      buffers: [{ tracked: chunk.tracked }, { tracked: ids.tracked }, { tracked: output.tracked }],
      workgroups: groups,
    });
  }
  return output;
}
