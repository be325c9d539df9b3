import {
  fusionBindings,
  fusionFunctions,
  fusionParamsFields,
  fusionPrologue,
  fusionRowStep,
  type MatvecFusion,
  NO_FUSION,
} from './matvec-fusion.js';

/**
 * Module-scope WGSL shared by the specialised one-row kernels (`quant-matvec-shader.ts`, `q4k-matvec-shader.ts`) and
 * the 8-bit batched one (`int8/int8-batch-matvec.ts`): the subgroups enable, `Params` (those of `matvecUniforms`, then
 * the fusion's) and the bindings `params`, `weights` (as `weightWords`), `input` (as `inputWords`: f32 values, or
 * packed 8-bit quants), `extra` (bias), `output`, then the fusion's.
 */
export function quantMatvecHeader(
  subgroups: boolean,
  weightWords: 'vec4<u32>' | 'u32' = 'vec4<u32>',
  fusion: MatvecFusion = NO_FUSION,
  inputWords: 'vec4<f32>' | 'vec4<u32>' = 'vec4<f32>',
): string {
  return /* wgsl */ `${subgroups ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);' : ''}
struct Params {
  columns: u32, rowBytes: u32, units: u32, chunkRows: u32, firstRow: u32, outStride: u32,
  outRows: u32, topK: u32, slots: u32, slotOffset: u32, perSlotInput: u32,${fusionParamsFields(fusion)}
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<${weightWords}>;
@group(0) @binding(2) var<storage, read> input: array<${inputWords}>;
@group(0) @binding(3) var<storage, read> extra: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;${fusionBindings(fusion, true)}`;
}

/** The entry point's parameters: `group`, `groups`, `li`, and with `subgroups` also `sl` and `ss`. */
export function quantMatvecBuiltins(subgroups: boolean): string {
  return `@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${
    subgroups ? ', @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32' : ''
  }`;
}

/** What {@link quantMatvecOpening} needs of a kernel. */
export interface QuantMatvecOpening {
  /** The device has `subgroups`. */
  readonly subgroups: boolean;
  /** The kernel's fusion. */
  readonly fusion: MatvecFusion;
  /** How the kernel reads `weights`. */
  readonly weightWords: 'vec4<u32>' | 'u32';
  /** Output rows per workgroup. */
  readonly rowsPerWorkgroup: number;
  /** Invocations per workgroup. */
  readonly workgroupSize: number;
  /** Floats of the `scratch` workgroup array. */
  readonly scratch: number;
  /** The kernel's own module-scope WGSL functions. */
  readonly functions: string;
  /** Input rows of one row group (workgroup z): 1 for a one-row kernel. */
  readonly inputRows?: number;
}

/**
 * The text of a specialised one-row kernel up to `main`'s first statement: {@link quantMatvecHeader}, `scratch`, the
 * fusion's functions, the kernel's functions, the entry point and `firstRow` (the workgroup's first output row).
 */
export function quantMatvecOpening(kernel: QuantMatvecOpening): string {
  const { subgroups, fusion, rowsPerWorkgroup, workgroupSize, inputRows = 1 } = kernel;
  return /* wgsl */ `${quantMatvecHeader(subgroups, kernel.weightWords, fusion)}
var<workgroup> scratch: array<f32, ${kernel.scratch}>;${fusionFunctions(fusion, workgroupSize, subgroups, rowsPerWorkgroup, inputRows)}

${kernel.functions}

@compute @workgroup_size(${workgroupSize})
fn main(${quantMatvecBuiltins(subgroups)}) {${fusionPrologue(fusion, inputRows)}
  let firstRow = (group.x + group.y * groups.x) * ${fusionRowStep(fusion, rowsPerWorkgroup)}u;`;
}

function nextPowerOfTwo(value: number): number {
  let result = 1;
  while (result < value) result *= 2;
  return result;
}

/**
 * Invocations per workgroup of the kernels with one invocation per 64-column group of a row (Q4_K `group` layout,
 * Q6_K): one per group, a power of two from 32 to 256.
 */
export function groupWorkgroupSize(columns: number): number {
  return Math.min(256, Math.max(32, nextPowerOfTwo(columns / 64)));
}
