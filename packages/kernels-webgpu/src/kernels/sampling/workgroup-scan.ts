/**
 * WGSL inclusive prefix sums of one u32 per invocation over a workgroup, in the order of `lane` (not
 * `local_invocation_index`: with subgroups the lanes follow each subgroup's own order, so no order of invocations
 * inside a subgroup is assumed). With subgroups: `subgroupInclusiveAdd`, then the totals of the subgroups before;
 * without: a shared-memory scan (log₂ size steps).
 *
 * Use: put `workgroupReduction(subgroups, size).enable` first and its `builtins` on the entry point (they name `sl`
 * and `ss`), {@link WorkgroupScan.functions} at module scope, `let lane = ${scan.lane};` at the top of the entry point,
 * and call `${scan.call('value')}` from uniform control flow.
 */
export interface WorkgroupScan {
  /** The scan function and its scratch memory. */
  readonly functions: string;
  /** Expression of the invocation's position in the scan order (a permutation of `li`). */
  readonly lane: string;
  /** Expression of the sum of `value` over the lanes up to and including this one. */
  call(value: string): string;
}

/** Scans over a workgroup of `size` invocations (a power of two). */
export function workgroupScan(subgroups: boolean, size: number): WorkgroupScan {
  if (subgroups) {
    return {
      functions: /* wgsl */ `var<workgroup> scan_scratch: array<u32, ${size}>;
fn scan_inclusive(value: u32, lane: u32, sl: u32, ss: u32) -> u32 {
  let inner = subgroupInclusiveAdd(value);
  workgroupBarrier();
  if (sl == ss - 1u) { scan_scratch[lane / ss] = inner; }
  workgroupBarrier();
  var before = 0u;
  for (var subgroup = 0u; subgroup < lane / ss; subgroup++) { before += scan_scratch[subgroup]; }
  return before + inner;
}`,
      // The subgroup of li is li / ss (as the workgroup reductions assume); its lanes go in subgroup order.
      lane: '(li / ss) * ss + sl',
      call: (value) => `scan_inclusive(${value}, lane, sl, ss)`,
    };
  }
  return {
    functions: /* wgsl */ `var<workgroup> scan_scratch: array<u32, ${size}>;
fn scan_inclusive(value: u32, lane: u32) -> u32 {
  workgroupBarrier();
  scan_scratch[lane] = value;
  workgroupBarrier();
  for (var stride = 1u; stride < ${size}u; stride <<= 1u) {
    let other = select(0u, scan_scratch[select(0u, lane - stride, lane >= stride)], lane >= stride);
    workgroupBarrier();
    scan_scratch[lane] += other;
    workgroupBarrier();
  }
  return scan_scratch[lane];
}`,
    lane: 'li',
    call: (value) => `scan_inclusive(${value}, lane)`,
  };
}
