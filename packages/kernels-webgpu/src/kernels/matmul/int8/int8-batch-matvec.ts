import type { WeightType } from '@strata/core';
import type { BufferBinding } from '../../../runtime/recorder.js';
import type { GpuRuntime } from '../../../runtime/runtime.js';
import type { StorageAccess } from '../../../runtime/shader.js';
import type { GpuTensor } from '../../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../../weights/gpu-weight.js';
import { accumulatorName, inputRowsReduction, inputRowsStore } from '../input-rows-wgsl.js';
import { matvecChunks } from '../matvec-chunks.js';
import {
  type FusionParams,
  fusionFunctions,
  fusionKey,
  fusionRowStep,
  fusionStorage,
  fusionWeightRow,
  type MatvecEpilogue,
  type MatvecFusion,
} from '../matvec-fusion.js';
import { MATVEC_STORAGE, matvecGroupRows } from '../matvec-shader.js';
import { quantMatvecBuiltins, quantMatvecHeader } from '../quant-matvec-header.js';
import { q4kUnits, q6kUnits, q80Units } from './int8-batch-units.js';
import { quantizeRowsOnDevice, type RowQuantizationNorm } from './row-quantization.js';

// The products of a batched decode step (2 … 32 input rows) with a Q4_K, Q6_K or Q8_0 weight on 8-bit inputs: the rows
// are quantized once per product (`row-quantization.ts`, with the RMS norm the product fuses), and each workgroup
// decodes a unit of each of its weight rows once (`int8-batch-units.ts`) and multiplies it with every input row of its
// row group by `dot4I8Packed` (four 8-bit products per instruction; inputs read as a quarter of the f32 bytes). The
// numbers are the int8 contract of the prefill path (`int8-gemm-reference.ts`): each input rounded to 8 bits in its
// block of 32.

/** The WGSL parts of each weight type. */
const UNITS = { Q4_K: q4kUnits, Q6_K: q6kUnits, Q8_0: q80Units } as const;

/** Output rows per workgroup. */
const ROWS_PER_WORKGROUP = 4;
/** Most invocations per workgroup: one per unit of a row at a time. */
const WORKGROUP_SIZE = 64;

/** What the kernel is built for. */
interface Int8BatchVariant {
  /** The weight's type. */
  readonly type: 'Q4_K' | 'Q6_K' | 'Q8_0';
  /** Weight columns (a multiple of 256). */
  readonly columns: number;
  /** Input rows of one row group (workgroup z). */
  readonly inputRows: number;
  /** A bias is added. */
  readonly bias: boolean;
  /** The device has subgroups (the reduction). */
  readonly subgroups: boolean;
  /** How output rows are stored. */
  readonly epilogue: MatvecEpilogue;
  /** The rows were RMS-normed by the quantizer: each row's totals are scaled by its norm inverse. */
  readonly norm: boolean;
}

/** The fusion of the kernel's store: the epilogue only (the norm is the quantizer's). */
const storeFusion = (epilogue: MatvecEpilogue): MatvecFusion => ({ norm: false, epilogue });

/**
 * Whether a product of `rows` rows with a `type` weight of `columns` runs here (`tuning.int8BatchRows`; one-row
 * products only where it is 1).
 */
export function int8BatchApplies(runtime: GpuRuntime, type: WeightType, columns: number, rows: number): boolean {
  const threshold = runtime.tuning.int8BatchRows;
  if (threshold === 0 || rows < threshold || columns === 0) return false;
  if (type === 'Q8_0') return columns % 32 === 0;
  return (type === 'Q4_K' || type === 'Q6_K') && columns % 256 === 0;
}

/** Invocations per workgroup for `units` units per row: 32 or 64 (one unit each per pass). */
function workgroupSize(units: number): number {
  return units >= WORKGROUP_SIZE ? WORKGROUP_SIZE : 32;
}

function kernelWgsl(variant: Int8BatchVariant): string {
  const { inputRows: G, subgroups, bias, norm } = variant;
  const parts = UNITS[variant.type](variant.columns);
  const R = ROWS_PER_WORKGROUP;
  const WG = workgroupSize(parts.units);
  const epilogue = storeFusion(variant.epilogue);
  const rows = Array.from({ length: R }, (_, index) => index);
  const inputs = Array.from({ length: G }, (_, index) => index);
  let binding = 5 + fusionStorage(epilogue).length;
  return /* wgsl */ `${quantMatvecHeader(subgroups, parts.weightWords, epilogue, 'vec4<u32>')}
@group(0) @binding(${binding++}) var<storage, read> input_scales: array<f32>;
@group(0) @binding(${binding++}) var<storage, read> input_sums: array<i32>;
${norm ? `@group(0) @binding(${binding++}) var<storage, read> inverses: array<f32>;` : ''}
var<workgroup> scratch: array<f32, ${R * G * WG}>;${fusionFunctions(epilogue, WG, subgroups, R, G)}
${parts.functions}

@compute @workgroup_size(${WG})
fn main(${quantMatvecBuiltins(subgroups)}) {
  let firstRow = (group.x + group.y * groups.x) * ${fusionRowStep(epilogue, R)}u;
  let firstInput = group.z * ${G}u;
${inputs.map((b) => `  let in${b} = min(firstInput + ${b}u, params.slots - 1u);`).join('\n')}
${rows.map((r) => `  let row${r} = ${parts.rowBase(`min(${fusionWeightRow(epilogue, R, r)}, params.chunkRows - 1u)`)};`).join('\n')}
${inputs.flatMap((b) => rows.map((r) => `  var ${accumulatorName(r, b, G)} = 0.0;`)).join('\n')}
  for (var u = li; u < ${parts.units}u; u += ${WG}u) {
${parts.unit}
${rows.map(parts.weightRow).join('\n')}
${inputs.map((b) => [parts.inputRow(b), ...rows.map((r) => parts.product(r, b, accumulatorName(r, b, G)))].join('\n')).join('\n')}
  }
${inputs.map((b) => `  var result${b} = 0.0;`).join('\n')}
${inputRowsReduction(R, G, WG, subgroups)}
${norm ? inputs.map((b) => `  result${b} *= inverses[in${b}];`).join('\n') : ''}
${inputRowsStore(epilogue, { rowsPerWorkgroup: R, workgroupSize: WG, subgroups, bias }, G)}
}
`;
}

/**
 * The product of `rows` input rows (`tensors.input`, f32 `[rows, columns]`) with a Q4_K, Q6_K or Q8_0 weight on 8-bit
 * inputs (see above): quantizes the rows (times `norm`'s gain, when given), then one dispatch per weight chunk in row
 * groups of at most 8 input rows (workgroup z, `matvecGroupRows`), stored as `store.epilogue` says with `store.params`
 * and the epilogue's `store.buffers` (those of `matvec-fusion.ts`). Returns `tensors.output`.
 */
export function int8BatchMatvec(
  runtime: GpuRuntime,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  rows: number,
  store: { epilogue: MatvecEpilogue; params: FusionParams; buffers: readonly BufferBinding[] },
  norm: RowQuantizationNorm | undefined,
): GpuTensor {
  const { weight, input, bias } = tensors;
  const columns = weight.shape[1]!;
  const inputRows = matvecGroupRows(rows);
  const groups = Math.ceil(rows / inputRows);
  const stored = weight.storedType;
  const type = stored === 'Q6_K' || stored === 'Q8_0' ? stored : 'Q4_K';
  const variant: Int8BatchVariant = {
    type,
    columns,
    inputRows,
    bias: bias !== undefined,
    subgroups: runtime.features.subgroups,
    epilogue: store.epilogue,
    norm: norm !== undefined,
  };
  const epilogue = storeFusion(store.epilogue);
  const storage: StorageAccess[] = [
    ...MATVEC_STORAGE,
    ...fusionStorage(epilogue),
    'read',
    'read',
    ...(norm === undefined ? [] : (['read'] as const)),
  ];
  const shader = {
    key: `int8-batch-matvec:${type}:c=${columns}:g=${inputRows}:bias=${bias === undefined ? 0 : 1}:norm=${norm === undefined ? 0 : 1}${fusionKey(epilogue)}:sg=${variant.subgroups ? 1 : 0}`,
    code: () => kernelWgsl(variant),
    storage,
  };
  const quantized = quantizeRowsOnDevice(runtime, input, rows, columns, norm);
  try {
    const buffers: BufferBinding[] = [
      ...store.buffers,
      { tracked: quantized.scales.tracked },
      { tracked: quantized.sums.tracked },
      ...(quantized.inverses === undefined ? [] : [{ tracked: quantized.inverses.tracked }]),
    ];
    return matvecChunks(
      runtime,
      { shader, units: 0, rowsPerWorkgroup: ROWS_PER_WORKGROUP, inputRows: { rows, groups } },
      { ...tensors, input: quantized.quants },
      { fusion: epilogue, params: store.params, buffers },
    );
  } finally {
    runtime.release(quantized.quants);
    runtime.release(quantized.scales);
    runtime.release(quantized.sums);
    if (quantized.inverses !== undefined) runtime.release(quantized.inverses);
  }
}
