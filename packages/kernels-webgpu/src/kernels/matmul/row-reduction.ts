/**
 * WGSL that sums per-invocation accumulators `acc0 … acc{rows−1}` over a workgroup of `workgroupSize` invocations
 * into `result` of invocation `r < rows` (row r of the workgroup): the reduction at the end of the one-row mat-vec
 * kernels (`wide-matvec-shader.ts`, and `register-rows-kernel.ts` for the specialised ones).
 *
 * The kernel declares `var<workgroup> scratch: array<f32, rows · workgroupSize>` and `var result = 0.0;` before this
 * text, and has `li` (and, with `subgroups`, `sl` and `ss`) in scope. With subgroups each subgroup sums by
 * `subgroupAdd` and its first invocation stores the total in slot `li / ss` of the row's `workgroupSize` slots (the
 * number of subgroups is at most `workgroupSize`, rounded up when a subgroup is larger than the workgroup); without,
 * a shared-memory tree (`workgroupSize` a power of two). Every path ends in uniform control flow.
 */
export function rowReduction(rows: number, workgroupSize: number, subgroups: boolean): string {
  const indices = Array.from({ length: rows }, (_, index) => index);
  return subgroups
    ? `
${indices.map((r) => `  let total${r} = subgroupAdd(acc${r});\n  if (sl == 0u) { scratch[${r}u * ${workgroupSize}u + li / ss] = total${r}; }`).join('\n')}
  workgroupBarrier();
  if (li < ${rows}u) {
    var sum = 0.0;
    for (var k = 0u; k < (${workgroupSize}u + ss - 1u) / ss; k++) { sum += scratch[li * ${workgroupSize}u + k]; }
    result = sum;
  }`
    : `
${indices.map((r) => `  scratch[${r}u * ${workgroupSize}u + li] = acc${r};`).join('\n')}
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) {
${indices.map((r) => `      scratch[${r}u * ${workgroupSize}u + li] += scratch[${r}u * ${workgroupSize}u + li + stride];`).join('\n')}
    }
    workgroupBarrier();
  }
  if (li < ${rows}u) { result = scratch[li * ${workgroupSize}u]; }`;
}
