import type { WeightType } from '@strata/core';
import { weightReaderWgsl, weightShader } from './index.js';

/** Workgroup size of {@link dequantizeKernelWgsl}. */
export const DEQUANTIZE_WORKGROUP_SIZE = 64;

/**
 * A kernel that expands a weight matrix `[rows, columns]` of `type` to f32, one thread per 4 columns of a row
 * (`entry: 'random'`, through `dequant4`) or per unit (`entry: 'unit'`, through `unit_load`). Bindings: 0 weights
 * (`array<u32>`), 1 output (`array<f32>`, `rows · columns`), 2 uniform `{ rows, columns, rowBytes, firstRow }`.
 * Dispatch `ceil(rows · threadsPerRow / 64)` workgroups, in x and y (x at most 65535), where `threadsPerRow` is
 * `ceil(columns / 4)` or the units per row.
 */
export function dequantizeKernelWgsl(type: WeightType, columns: number, entry: 'random' | 'unit'): string {
  const shader = weightShader(type);
  const perRow =
    entry === 'random'
      ? 'params.columns + 3u) / 4u'
      : `params.columns + ${shader.unitColumns - 1}u) / ${shader.unitColumns}u`;
  const body =
    entry === 'random'
      ? `let column = slot * 4u;
  let values = dequant4(row * params.rowBytes, column);
  for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { output[(row + params.firstRow) * params.columns + column + i] = values[i]; } }`
      : `let values = unit_load(row * params.rowBytes, slot);
  for (var group = 0u; group < ${shader.groups}u; group++) {
    let column = unit_column(slot, group);
    for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { output[(row + params.firstRow) * params.columns + column + i] = values[group][i]; } }
  }`;
  return /* wgsl */ `
struct Params { rows: u32, columns: u32, rowBytes: u32, firstRow: u32 }
@group(0) @binding(0) var<storage, read> weights: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
${weightReaderWgsl(type, columns)}
@compute @workgroup_size(${DEQUANTIZE_WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let perRow = (${perRow};
  let index = id.x + id.y * groups.x * ${DEQUANTIZE_WORKGROUP_SIZE}u;
  let row = index / perRow;
  let slot = index % perRow;
  if (row >= params.rows) { return; }
  ${body}
}
`;
}
