/**
 * WGSL workgroup reductions. With subgroups: `subgroupAdd`/`subgroupMax` per subgroup, then one shared slot per
 * subgroup; without: a shared-memory tree. Both give every invocation the same result.
 *
 * Use: put {@link ReductionSource.enable} first in the shader, {@link ReductionSource.functions} at module scope, add
 * {@link ReductionSource.builtins} to the entry point's parameters (after `@builtin(local_invocation_index) li: u32`)
 * and call `reduce_sum(value, ${args})`, `reduce_max(value, ${args})` (f32) or `reduce_min_u(value, ${args})` (u32) from uniform control flow.
 */
export interface ReductionSource {
  /** `enable subgroups;` or nothing. */
  readonly enable: string;
  /** Extra entry-point parameters (`, @builtin(subgroup_invocation_id) sl: u32, …`) or nothing. */
  readonly builtins: string;
  /** Arguments after the value in each call: `li, sl, ss`. */
  readonly args: string;
  /** The reduction functions and their scratch memory. */
  readonly functions: string;
}

/** Reductions for a workgroup of `workgroupSize` invocations (a power of two). */
export function workgroupReduction(subgroups: boolean, workgroupSize: number): ReductionSource {
  if (subgroups) {
    return {
      enable: 'enable subgroups;',
      builtins: ', @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32',
      args: 'li, sl, ss',
      functions: /* wgsl */ `
var<workgroup> reduce_scratch: array<f32, ${workgroupSize}>;
var<workgroup> reduce_scratch_u: array<u32, ${workgroupSize}>;
fn reduce_sum(value: f32, li: u32, sl: u32, ss: u32) -> f32 {
  let partial = subgroupAdd(value);
  workgroupBarrier();
  if (sl == 0u) { reduce_scratch[li / ss] = partial; }
  workgroupBarrier();
  var total = reduce_scratch[0];
  for (var index = 1u; index < (${workgroupSize}u + ss - 1u) / ss; index++) { total += reduce_scratch[index]; }
  return total;
}
fn reduce_max(value: f32, li: u32, sl: u32, ss: u32) -> f32 {
  let partial = subgroupMax(value);
  workgroupBarrier();
  if (sl == 0u) { reduce_scratch[li / ss] = partial; }
  workgroupBarrier();
  var best = reduce_scratch[0];
  for (var index = 1u; index < (${workgroupSize}u + ss - 1u) / ss; index++) { best = max(best, reduce_scratch[index]); }
  return best;
}
fn reduce_min_u(value: u32, li: u32, sl: u32, ss: u32) -> u32 {
  let partial = subgroupMin(value);
  workgroupBarrier();
  if (sl == 0u) { reduce_scratch_u[li / ss] = partial; }
  workgroupBarrier();
  var best = reduce_scratch_u[0];
  for (var index = 1u; index < (${workgroupSize}u + ss - 1u) / ss; index++) { best = min(best, reduce_scratch_u[index]); }
  return best;
}
`,
    };
  }
  return {
    enable: '',
    builtins: '',
    args: 'li, 0u, 0u',
    functions: /* wgsl */ `
var<workgroup> reduce_scratch: array<f32, ${workgroupSize}>;
var<workgroup> reduce_scratch_u: array<u32, ${workgroupSize}>;
fn reduce_sum(value: f32, li: u32, sl: u32, ss: u32) -> f32 {
  workgroupBarrier();
  reduce_scratch[li] = value;
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) { reduce_scratch[li] += reduce_scratch[li + stride]; }
    workgroupBarrier();
  }
  return reduce_scratch[0];
}
fn reduce_max(value: f32, li: u32, sl: u32, ss: u32) -> f32 {
  workgroupBarrier();
  reduce_scratch[li] = value;
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) { reduce_scratch[li] = max(reduce_scratch[li], reduce_scratch[li + stride]); }
    workgroupBarrier();
  }
  return reduce_scratch[0];
}
fn reduce_min_u(value: u32, li: u32, sl: u32, ss: u32) -> u32 {
  workgroupBarrier();
  reduce_scratch_u[li] = value;
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) { reduce_scratch_u[li] = min(reduce_scratch_u[li], reduce_scratch_u[li + stride]); }
    workgroupBarrier();
  }
  return reduce_scratch_u[0];
}
`,
  };
}
