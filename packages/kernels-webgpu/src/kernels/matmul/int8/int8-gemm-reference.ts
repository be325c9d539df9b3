// The CPU reference of the int8 GEMM's contract (tests and the benchmark's checks): weight blocks as the kernels read
// them (`int8-weight-blocks.ts`), and the product summed in float64.
import { StrataError } from '@strata/core';
import { halfValue } from '../../../tensor/host-decode.js';
import { INT8_BLOCK_COLUMNS, type QuantizedActivations } from './activation-quantization.js';
import type { Int8WeightType } from './int8-weight-blocks.js';

/** A weight `[rows, columns]` as blocks of 32 integer quants with a scale and a min each: the weight is `d · q − m`. */
export interface Int8WeightBlocks {
  /** Weight rows (outputs). */
  readonly rows: number;
  /** Columns (a multiple of 32). */
  readonly columns: number;
  /** `[rows, columns]` quants: −128…127 (Q8_0) or 0…15 (Q4_K). */
  readonly quants: Int8Array;
  /** `[rows, columns / 32]` block scales `d` (f32 values). */
  readonly scales: Float32Array;
  /** `[rows, columns / 32]` block mins `m` (f32 values; 0 for Q8_0). */
  readonly mins: Float32Array;
}

/** ggml's `get_scale_min_k4`: the six-bit scale and min of sub-block `j` from the 12 bytes at `offset`. */
function scaleMin(bytes: Uint8Array, offset: number, j: number): [number, number] {
  if (j < 4) return [bytes[offset + j]! & 63, bytes[offset + j + 4]! & 63];
  const scale = (bytes[offset + j + 4]! & 0x0f) | ((bytes[offset + j - 4]! >> 6) << 4);
  const min = (bytes[offset + j + 4]! >> 4) | ((bytes[offset + j]! >> 6) << 4);
  return [scale, min];
}

/**
 * The blocks of a Q8_0 or Q4_K weight of `rows × columns` from its file bytes, as the int8 kernels read them: Q8_0
 * `d` = f16 d, `m` = 0; Q4_K `d` = fl32(f16 d · scale), `m` = fl32(f16 dmin · min) per sub-block of 32. Throws
 * `SHAPE_MISMATCH` when the bytes are too few or the columns do not fill whole blocks.
 */
export function int8WeightBlocks(
  type: Int8WeightType,
  bytes: Uint8Array,
  rows: number,
  columns: number,
): Int8WeightBlocks {
  const superColumns = type === 'Q8_0' ? 32 : 256;
  const superBytes = type === 'Q8_0' ? 34 : 144;
  const rowBytes = (columns / superColumns) * superBytes;
  if (!Number.isInteger(rowBytes) || columns <= 0 || bytes.length < rows * rowBytes) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `${bytes.length} bytes are not a ${type} weight of [${rows}, ${columns}].`,
      {
        details: { type, rows, columns, bytes: bytes.length },
      },
    );
  }
  const blocksPerRow = columns / INT8_BLOCK_COLUMNS;
  const quants = new Int8Array(rows * columns);
  const scales = new Float32Array(rows * blocksPerRow);
  const mins = new Float32Array(rows * blocksPerRow);
  for (let row = 0; row < rows; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      const target = row * columns + block * INT8_BLOCK_COLUMNS;
      const slot = row * blocksPerRow + block;
      if (type === 'Q8_0') {
        const base = row * rowBytes + block * 34;
        scales[slot] = halfValue(bytes[base]! | (bytes[base + 1]! << 8));
        for (let index = 0; index < 32; index++) quants[target + index] = (bytes[base + 2 + index]! << 24) >> 24;
        continue;
      }
      const base = row * rowBytes + Math.floor(block / 8) * 144;
      const sub = block % 8;
      const [scale, min] = scaleMin(bytes, base + 4, sub);
      scales[slot] = Math.fround(halfValue(bytes[base]! | (bytes[base + 1]! << 8)) * scale);
      mins[slot] = Math.fround(halfValue(bytes[base + 2]! | (bytes[base + 3]! << 8)) * min);
      const first = base + 16 + (sub >> 1) * 32;
      const shift = (sub & 1) * 4;
      for (let index = 0; index < 32; index++) quants[target + index] = (bytes[first + index]! >> shift) & 15;
    }
  }
  return { rows, columns, quants, scales, mins };
}

/**
 * The int8 GEMM's contract in float64: `result[r][o] = bias[o] + Σ_b (d_w · d_a · Σ_k q_w q_a − m_w · d_a · Σ_k q_a)`
 * over the blocks `b` of 32 columns (`d_a`, `q_a` the activations', `d_w`, `m_w`, `q_w` the weight's), `[rows, out]`
 * row-major; `magnitude` holds `|bias| + Σ_b (|d_w d_a Σ q_w q_a| + |m_w d_a Σ q_a|)` for relative tolerances.
 */
export function int8GemmReference(
  activations: QuantizedActivations,
  weights: Int8WeightBlocks,
  bias?: Float32Array,
): { result: Float64Array; magnitude: Float64Array } {
  const { rows, columns } = activations;
  const out = weights.rows;
  if (weights.columns !== columns) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `Activations of ${columns} columns cannot meet weights of ${weights.columns}.`,
    );
  }
  const blocks = columns / INT8_BLOCK_COLUMNS;
  const result = new Float64Array(rows * out);
  const magnitude = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let sum = bias?.[o] ?? 0;
      let size = Math.abs(sum);
      for (let b = 0; b < blocks; b++) {
        let dot = 0;
        for (let k = b * INT8_BLOCK_COLUMNS; k < (b + 1) * INT8_BLOCK_COLUMNS; k++) {
          dot += activations.quants[r * columns + k]! * weights.quants[o * columns + k]!;
        }
        const activationScale = activations.scales[r * blocks + b]!;
        const product = weights.scales[o * blocks + b]! * activationScale * dot;
        const minimum = weights.mins[o * blocks + b]! * activationScale * activations.sums[r * blocks + b]!;
        sum += product - minimum;
        size += Math.abs(product) + Math.abs(minimum);
      }
      result[r * out + o] = sum;
      magnitude[r * out + o] = size;
    }
  }
  return { result, magnitude };
}
