import { StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { dispatchRowReduction, rowsAndColumns } from '../normalization/norms.js';

/** Columns one workgroup of the first pass scans when a row is split into slices. */
const SLICE_COLUMNS = 2048;

/** Rows of at least this many columns (a vocabulary) are split into slices of {@link SLICE_COLUMNS}. */
export const SPLIT_FROM_COLUMNS = 4 * SLICE_COLUMNS;

const NONE = '0xffffffffu';

/**
 * WGSL that scans `values(column)` for `column` from `start + li` to `end` (`size` apart) and leaves the first index
 * of the largest value in `index` and that value in `top`, over the workgroup (`args`: the reduction's arguments).
 */
function firstLargest(size: number, args: string, start: string, end: string, value: string): string {
  return `var best = -3.402823e38;
  var best_index = ${NONE};
  for (var column = ${start} + li; column < ${end}; column += ${size}u) {
    let value = ${value};
    if (best_index == ${NONE} || value > best) { best = value; best_index = column; }
  }
  let top = reduce_max(best, ${args});
  let index = reduce_min_u(select(${NONE}, best_index, best == top && best_index != ${NONE}), ${args});`;
}

/**
 * Index of the largest value of each row: i32 `[rows]`, the first index on ties. A row of fewer than
 * {@link SPLIT_FROM_COLUMNS} columns takes one workgroup; a longer one (a vocabulary of logits) is split into slices
 * of {@link SLICE_COLUMNS} columns, one workgroup each, whose first largest values a second pass reduces per row (one
 * workgroup scanning 128k logits alone is a serial chain of 500 loads per invocation).
 */
export function argmax(runtime: GpuRuntime, input: Tensor): GpuTensor {
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows, columns } = rowsAndColumns(source);
  if (source.shape.length < 1 || columns === 0) {
    throw new StrataError('SHAPE_MISMATCH', `argmax: rows of [${source.shape.join(', ')}] are empty.`);
  }
  const output = runtime.allocate('i32', [rows]);
  if (rows === 0) return output;
  if (columns < SPLIT_FROM_COLUMNS) {
    dispatchRowReduction(runtime, rows, columns, {
      key: 'argmax',
      storage: ['read', 'write'],
      declarations: /* wgsl */ `struct Params { rows: u32, columns: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<i32>;`,
      body: (size, args) => /* wgsl */ `${firstLargest(size, args, '0u', 'params.columns', 'source[base + column]')}
  if (li == 0u) { destination[row] = i32(select(index, 0u, index == ${NONE})); }`,
      uniforms: new Uniforms().u(rows).u(columns).words,
      buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
    });
    return output;
  }
  const slices = Math.ceil(columns / SLICE_COLUMNS);
  const values = runtime.allocate('f32', [rows * slices]);
  const indices = runtime.allocate('i32', [rows * slices]);
  // Pass 1: one workgroup per slice of a row ("row" below is the slice's index over all rows).
  dispatchRowReduction(runtime, rows * slices, SLICE_COLUMNS, {
    key: 'argmax-slices',
    storage: ['read', 'write', 'write'],
    declarations: /* wgsl */ `struct Params { rows: u32, columns: u32, slices: u32, row_columns: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> slice_values: array<f32>;
@group(0) @binding(3) var<storage, read_write> slice_indices: array<u32>;`,
    body: (size, args) => /* wgsl */ `let first = (row / params.slices) * params.row_columns;
  let start = (row % params.slices) * params.columns;
  let end = min(start + params.columns, params.row_columns);
  ${firstLargest(size, args, 'start', 'end', 'source[first + column]')}
  if (li == 0u) { slice_values[row] = top; slice_indices[row] = index; }`,
    uniforms: new Uniforms()
      .u(rows * slices)
      .u(SLICE_COLUMNS)
      .u(slices)
      .u(columns).words,
    buffers: [{ tracked: source.tracked }, { tracked: values.tracked }, { tracked: indices.tracked }],
  });
  // Pass 2: per row, the first index of the largest of its slices' values (slices are in column order).
  dispatchRowReduction(runtime, rows, slices, {
    key: 'argmax-of-slices',
    storage: ['read', 'read', 'write'],
    declarations: /* wgsl */ `struct Params { rows: u32, columns: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> slice_values: array<f32>;
@group(0) @binding(2) var<storage, read> slice_indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> destination: array<i32>;`,
    body: (size, args) => /* wgsl */ `${firstLargest(size, args, '0u', 'params.columns', 'slice_values[base + column]')}
  if (li == 0u) {
    let column = select(slice_indices[base + index], ${NONE}, index == ${NONE});
    destination[row] = i32(select(column, 0u, column == ${NONE}));
  }`,
    uniforms: new Uniforms().u(rows).u(slices).words,
    buffers: [{ tracked: values.tracked }, { tracked: indices.tracked }, { tracked: output.tracked }],
  });
  runtime.release(values);
  runtime.release(indices);
  return output;
}
