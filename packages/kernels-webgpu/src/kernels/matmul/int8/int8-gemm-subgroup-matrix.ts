// The subgroup-matrix inner product of the int8 GEMM, built from the probe's fastest structure
// (`bench/subgroup-matrix-gemm-shader.ts`, `shared … k64 prefetch`): per step of 64 columns the workgroup copies
// 16 bytes per invocation and copy of its input rows and weight rows into workgroup memory (rows padded by 16 bytes),
// the next step's words prefetched into registers while the current one is multiplied; each subgroup loads its left
// and right matrices from there with the templated builtins (offsets and strides in i32 words). What differs: the
// weights come from their block format (`int8-weight-blocks.ts`), loads past the edges are zeros, and since each
// block of 32 columns has its own scales while result elements are opaque, each block's i32 result matrix is stored to
// workgroup memory (a region per subgroup, two alternating, so one barrier per matrix), and each invocation scales its
// elements (row `lane / N + e · size / N`, column `lane % N`) into f32 accumulators.
import type { Int8SubgroupMatrix } from '../../../device/subgroup-matrix.js';
import type { SubgroupMatrixGemmTiling } from './int8-gemm-shader.js';

/** i32 words per staged row: 64 bytes of quants and 16 bytes of padding (the probe's stride for a 64-byte step). */
const STRIDE_WORDS = 20;

/** Input rows, outputs and invocations of one workgroup. */
export function subgroupMatrixGemmTile(
  matrix: Int8SubgroupMatrix,
  tiling: SubgroupMatrixGemmTiling,
): { rows: number; out: number; invocations: number } {
  return {
    rows: tiling.subgroupRows * tiling.matrixRows * matrix.M,
    out: tiling.subgroupCols * tiling.matrixCols * matrix.N,
    invocations: tiling.subgroupRows * tiling.subgroupCols * matrix.subgroupSize,
  };
}

/** Bytes of workgroup memory: staged rows, scale pairs of two blocks, and two result matrices per subgroup. */
export function subgroupMatrixGemmWorkgroupBytes(matrix: Int8SubgroupMatrix, tiling: SubgroupMatrixGemmTiling): number {
  const tile = subgroupMatrixGemmTile(matrix, tiling);
  const subgroups = tiling.subgroupRows * tiling.subgroupCols;
  return (tile.rows + tile.out) * (STRIDE_WORDS * 4 + 2 * 8) + 2 * subgroups * matrix.M * matrix.N * 4;
}

/**
 * The subgroup-matrix kernel's body after the shared WGSL (`int8-gemm-shader.ts`); the `enable` directives go first.
 * Per block `bi` of a step: every subgroup multiplies its `matrixRows × matrixCols` pairs (`32 / K` multiplies each,
 * from a zero result), then for each pair stores the result to its scratch region, meets a workgroup barrier, and
 * adds `f32(s) · d_a · d_w` (minus `d_a Σq_a · m_w` when `minimum`) per element it owns.
 */
export function subgroupMatrixGemmBody(
  common: string,
  matrix: Int8SubgroupMatrix,
  tiling: SubgroupMatrixGemmTiling,
  minimum: boolean,
): string {
  const { M, N, K, subgroupSize } = matrix;
  const tile = subgroupMatrixGemmTile(matrix, tiling);
  const invocations = tile.invocations;
  const subgroups = tiling.subgroupRows * tiling.subgroupCols;
  const elements = (M * N) / subgroupSize;
  const rowsPerPass = subgroupSize / N;
  if (32 % K !== 0 || K % 4 !== 0 || subgroupSize % N !== 0 || !Number.isInteger(elements)) {
    throw new Error(`int8 GEMM: unsupported subgroup matrix ${JSON.stringify(matrix)}`);
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < tiling.matrixRows; i++) for (let j = 0; j < tiling.matrixCols; j++) pairs.push([i, j]);
  const copies = (count: number) => Math.ceil(count / invocations);
  const guarded = (count: number, copy: number, statement: string) =>
    (copy + 1) * invocations > count ? `if (local + ${copy * invocations}u < ${count}u) { ${statement} }` : statement;

  // Prefetch: each copy's 16 bytes (4 per row and step) and scale pairs (2 per row and step) into registers.
  const registers: string[] = [];
  const fetch: string[] = [];
  const keep: string[] = [];
  const staged = (name: 'a' | 'b', rows: number, target: 'tileA' | 'tileB', first: string) => {
    for (let copy = 0; copy < copies(rows * 4); copy++) {
      const index = `(local + ${copy * invocations}u)`;
      const read =
        name === 'a'
          ? `activation_quants(${first} + ${index} / 4u, next * 4u + ${index} % 4u)`
          : `weight_quants(${first} + ${index} / 4u, next * 2u + (${index} % 4u) / 2u, ${index} % 2u)`;
      registers.push(`  var ${name}Next${copy} = vec4<u32>();`);
      fetch.push(guarded(rows * 4, copy, `${name}Next${copy} = ${read};`));
      const write = [0, 1, 2, 3]
        .map(
          (lane) =>
            `${target}[(${index} / 4u) * ${STRIDE_WORDS}u + (${index} % 4u) * 4u + ${lane}u] = bitcast<i32>(${name}Next${copy}.${'xyzw'[lane]});`,
        )
        .join(' ');
      keep.push(guarded(rows * 4, copy, `{ ${write} }`));
    }
    for (let copy = 0; copy < copies(rows * 2); copy++) {
      const index = `(local + ${copy * invocations}u)`;
      const read =
        name === 'a'
          ? `activation_scale_pair(${first} + ${index} / 2u, next * 2u + ${index} % 2u)`
          : `weight_scale(${first} + ${index} / 2u, next * 2u + ${index} % 2u)`;
      const scales = name === 'a' ? 'scaleA' : 'scaleB';
      registers.push(`  var ${name}ScaleNext${copy} = vec2<f32>();`);
      fetch.push(guarded(rows * 2, copy, `${name}ScaleNext${copy} = ${read};`));
      keep.push(
        guarded(rows * 2, copy, `${scales}[(${index} % 2u) * ${rows}u + ${index} / 2u] = ${name}ScaleNext${copy};`),
      );
    }
  };
  staged('a', tile.rows, 'tileA', 'tileRow');
  staged('b', tile.out, 'tileB', 'tileCol');

  const block: string[] = [];
  for (let kk = 0; kk < 32; kk += K) {
    const offset = `bi * 8u + ${kk / 4}u`;
    for (let i = 0; i < tiling.matrixRows; i++) {
      block.push(
        `      let left${kk}_${i} = subgroupMatrixLoad<Left, row_major>(&tileA, (subgroupRow * ${tiling.matrixRows * M}u + ${i * M}u) * ${STRIDE_WORDS}u + ${offset}, ${STRIDE_WORDS}u);`,
      );
    }
    for (let j = 0; j < tiling.matrixCols; j++) {
      block.push(
        `      let right${kk}_${j} = subgroupMatrixLoad<Right, col_major>(&tileB, (subgroupCol * ${tiling.matrixCols * N}u + ${j * N}u) * ${STRIDE_WORDS}u + ${offset}, ${STRIDE_WORDS}u);`,
      );
    }
    for (const [i, j] of pairs) {
      const start = kk === 0 ? 'Result()' : `product${i}_${j}`;
      const binding = kk === 0 ? 'var' : '';
      block.push(
        `      ${binding ? `${binding} ` : ''}product${i}_${j} = subgroupMatrixMultiplyAccumulate(left${kk}_${i}, right${kk}_${j}, ${start});`,
      );
    }
  }
  pairs.forEach(([i, j], pair) => {
    const region = `(${pair % 2}u * ${subgroups}u + subgroup) * ${M * N}u`;
    block.push(`      subgroupMatrixStore<row_major>(&scratch, ${region}, product${i}_${j}, ${N}u);`);
    block.push('      workgroupBarrier();');
    block.push(
      `      { let sb = scaleB[bi * ${tile.out}u + subgroupCol * ${tiling.matrixCols * N}u + ${j * N}u + lane % ${N}u];`,
    );
    for (let e = 0; e < elements; e++) {
      const row = `bi * ${tile.rows}u + subgroupRow * ${tiling.matrixRows * M}u + ${i * M}u + lane / ${N}u + ${e * rowsPerPass}u`;
      const value = `f32(scratch[${region} + lane + ${e * subgroupSize}u])`;
      const term = minimum ? `${value} * (sa.x * sb.x) - sa.y * sb.y` : `${value} * (sa.x * sb.x)`;
      block.push(`        { let sa = scaleA[${row}]; acc${i}_${j}_${e} += ${term}; }`);
    }
    block.push('      }');
  });

  const accumulators = pairs
    .flatMap(([i, j]) => Array.from({ length: elements }, (_, e) => `  var acc${i}_${j}_${e} = 0.0;`))
    .join('\n');
  const stores = pairs
    .flatMap(([i, j]) =>
      Array.from(
        { length: elements },
        (_, e) =>
          `  store(row0 + ${i * M}u + lane / ${N}u + ${e * rowsPerPass}u, col0 + ${j * N}u + lane % ${N}u, acc${i}_${j}_${e});`,
      ),
    )
    .join('\n');
  const indent = (lines: string[], spaces: string) => lines.map((line) => `${spaces}${line}`).join('\n');
  return /* wgsl */ `enable chromium_experimental_subgroup_matrix;
enable subgroups;
diagnostic(off, chromium.subgroup_matrix_uniformity);
${common}
alias Left = subgroup_matrix_left<i8, ${K}, ${M}>;
alias Right = subgroup_matrix_right<i8, ${N}, ${K}>;
alias Result = subgroup_matrix_result<i32, ${N}, ${M}>;

// tileA[r * ${STRIDE_WORDS} + w]: word w (columns 4w … 4w + 3 of the step) of the tile's input row r; tileB likewise.
var<workgroup> tileA: array<i32, ${tile.rows * STRIDE_WORDS}>;
var<workgroup> tileB: array<i32, ${tile.out * STRIDE_WORDS}>;
// scaleA[bi * ${tile.rows} + r]: (d_a, d_a · Σ q_a) of block bi of the step; scaleB[bi * ${tile.out} + o]: (d_w, m_w).
var<workgroup> scaleA: array<vec2<f32>, ${2 * tile.rows}>;
var<workgroup> scaleB: array<vec2<f32>, ${2 * tile.out}>;
// Two ${M} × ${N} i32 results per subgroup, used in turn.
var<workgroup> scratch: array<i32, ${2 * subgroups * M * N}>;

@compute @workgroup_size(${invocations})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(subgroup_id) subgroup: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(local_invocation_index) local: u32) {
  let subgroupRow = subgroup / ${tiling.subgroupCols}u;
  let subgroupCol = subgroup % ${tiling.subgroupCols}u;
  let tileRow = group.y * ${tile.rows}u;
  let tileCol = group.x * ${tile.out}u;
  let row0 = tileRow + subgroupRow * ${tiling.matrixRows * M}u;
  let col0 = tileCol + subgroupCol * ${tiling.matrixCols * N}u;
${accumulators}
${registers.join('\n')}
  let steps = (params.columns + 63u) / 64u;
  var next = 0u;
${indent(fetch, '  ')}
  for (var step = 0u; step < steps; step++) {
${indent(keep, '    ')}
    workgroupBarrier();
    if (step + 1u < steps) {
      next = step + 1u;
${indent(fetch, '      ')}
    }
    for (var bi = 0u; bi < 2u; bi++) {
${block.join('\n')}
    }
    workgroupBarrier();
  }
${stores}
}
`;
}
