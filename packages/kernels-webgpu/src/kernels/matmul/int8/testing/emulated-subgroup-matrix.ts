import type { Int8SubgroupMatrix } from '../../../../device/subgroup-matrix.js';

/**
 * Rewrites the subgroup-matrix GEMM's WGSL (`int8-gemm-subgroup-matrix.ts`) into core WGSL that computes the same
 * thing, so a device without `chromium-experimental-subgroup-matrix` (lavapipe) can run everything around the
 * builtins: staging, prefetch, guards, scratch regions, barriers, per-element scaling, stores. Tests only.
 *
 * A left or right matrix becomes its `(offset, stride)` in the staged tile; a product of one multiply from zero
 * (`K` = 32: one per block) becomes both pairs; the store computes the `M × N` i32 dot products of the staged words
 * (left row-major, right column-major, 4 int8 per word) and writes them in the store's layout at its offset and stride,
 * each lane taking every `subgroupSize`-th element. Subgroups become `local / subgroupSize` (the emulation needs no
 * real subgroups: lanes only meet through workgroup memory and barriers). Throws when a builtin is left over.
 */
export function emulateSubgroupMatrices(code: string, matrix: Int8SubgroupMatrix): string {
  const { M, N, K, subgroupSize } = matrix;
  if (K !== 32) throw new Error('the emulation covers one multiply per block (K = 32)');
  const text = code
    .replace('enable chromium_experimental_subgroup_matrix;\n', '')
    .replace('enable subgroups;\n', '')
    .replace('diagnostic(off, chromium.subgroup_matrix_uniformity);\n', '')
    .replace(/alias (Left|Right) = subgroup_matrix_\w+<[^>]*>;/g, 'alias $1 = vec2<u32>;')
    .replace(/alias Result = subgroup_matrix_result<[^>]*>;/, 'alias Result = vec4<u32>;')
    .replace(
      /subgroupMatrixLoad<(?:Left|Right), (?:row|col)_major>\(&tile[AB], ([^;]*), (\d+u)\);/g,
      'vec2<u32>($1, $2);',
    )
    .replace(/subgroupMatrixMultiplyAccumulate\((\w+), (\w+), Result\(\)\)/g, 'vec4<u32>($1, $2)')
    .replace(
      /subgroupMatrixStore<(row|col)_major>\(&scratch, ([^;]*), (\w+), (\d+u)\);/g,
      (_, layout: string, offset: string, product: string, stride: string) =>
        `emulated_store(${offset}, ${product}, ${stride}, lane, ${layout === 'col'});`,
    )
    .replace(
      /@builtin\(subgroup_id\) subgroup: u32,\s*@builtin\(subgroup_invocation_id\) lane: u32, @builtin\(local_invocation_index\) local: u32\) \{/,
      `@builtin(local_invocation_index) local: u32) {\n  let subgroup = local / ${subgroupSize}u;\n  let lane = local % ${subgroupSize}u;`,
    );
  if (/subgroupMatrix|subgroup_matrix|subgroup_id|subgroup_invocation_id/.test(text)) {
    throw new Error('the emulation left a subgroup-matrix construct in the kernel');
  }
  return `${text}
fn emulated_store(offset: u32, product: vec4<u32>, stride: u32, lane: u32, columnMajor: bool) {
  for (var index = lane; index < ${M * N}u; index += ${subgroupSize}u) {
    let row = index / ${N}u;
    let column = index % ${N}u;
    var sum = 0;
    for (var word = 0u; word < ${K / 4}u; word++) {
      sum += dot4I8Packed(bitcast<u32>(tileA[product.x + row * product.y + word]),
        bitcast<u32>(tileB[product.z + column * product.w + word]));
    }
    scratch[offset + select(row * stride + column, column * stride + row, columnMajor)] = sum;
  }
}
`;
}
