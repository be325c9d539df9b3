// The subgroup-matrix inner product of the int8 GEMM, built from the probe's fastest structure
// (`bench/subgroup-matrix-gemm-shader.ts`, `shared … k64 prefetch`): per step of 32 or 64 columns the workgroup copies
// 16 bytes per invocation and copy of its input rows and weight rows into workgroup memory (rows padded by 16 bytes),
// the next step's words prefetched into registers while the current one is multiplied; each subgroup loads its left
// and right matrices from there with the templated builtins (offsets and strides in i32 words). What differs: the
// weights come from their block format (`int8-weight-blocks.ts`), loads past the edges are zeros, and since each
// block of 32 columns has its own scales while result elements are opaque, each block's i32 result matrices are
// stored to workgroup memory (regions of the subgroup's own) and each invocation scales its elements (row
// `lane / N + e · size / N`, column `lane % N` when stored row-major, the transpose when column-major) into f32
// accumulators. Workgroup memory written by a subgroup's store is read by other invocations of that subgroup, so a
// workgroup barrier stands between them: per result matrix (`scaling: 'pair'`, two alternating regions) or once per
// block (`scaling: 'block'`, a region per result matrix).
import type { Int8SubgroupMatrix } from '../../../device/subgroup-matrix.js';
import type { SubgroupMatrixGemmTiling } from './int8-gemm-shader.js';

/** The bits of 1.5 · 2²³ as an i32, and that float: `bitcast<f32>(s + bits) - value` is `s` for |s| < 2²². */
const MANTISSA_BITS = 0x4b400000;
const MANTISSA_VALUE = '12582912.0';

/** Blocks of 32 columns staged per step (2 unless the tiling says 1). */
function stepBlocks(tiling: SubgroupMatrixGemmTiling): number {
  return tiling.stepBlocks ?? 2;
}

/** Columns staged per step: 32 per block. */
export function stepColumns(tiling: SubgroupMatrixGemmTiling): number {
  return 32 * stepBlocks(tiling);
}

/** i32 words per staged row: the step's quants and 16 bytes of padding (the probe's stride for a 64-byte step). */
function strideWords(tiling: SubgroupMatrixGemmTiling): number {
  return stepColumns(tiling) / 4 + 4;
}

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

/** Results a subgroup stores between two barriers with `pair` scaling (`resultsPerBarrier`, 1 when absent). */
function resultsPerBarrier(tiling: SubgroupMatrixGemmTiling): number {
  return Math.min(tiling.resultsPerBarrier ?? 1, tiling.matrixRows * tiling.matrixCols);
}

/**
 * i32 result regions per subgroup: two alternating sets of `resultsPerBarrier` (`pair`), or one per result matrix
 * and block of a step (`block`).
 */
function regionsPerSubgroup(tiling: SubgroupMatrixGemmTiling): number {
  return tiling.scaling === 'block'
    ? tiling.matrixRows * tiling.matrixCols * stepBlocks(tiling)
    : 2 * resultsPerBarrier(tiling);
}

/**
 * How a result matrix lies in workgroup memory: `lines` rows (row-major) or columns (`byColumn`) of `run` elements,
 * `lineWords` i32 words apart (`run` unless the tiling's `resultStride` widens it).
 */
function resultGeometry(
  matrix: Int8SubgroupMatrix,
  tiling: SubgroupMatrixGemmTiling,
): { byColumn: boolean; run: number; lines: number; lineWords: number } {
  const byColumn = tiling.resultLayout === 'column';
  const run = byColumn ? matrix.M : matrix.N;
  return { byColumn, run, lines: byColumn ? matrix.N : matrix.M, lineWords: Math.max(tiling.resultStride ?? run, run) };
}

/** Bytes of workgroup memory: staged rows, scale pairs of a step's blocks, and the result regions of every subgroup. */
export function subgroupMatrixGemmWorkgroupBytes(matrix: Int8SubgroupMatrix, tiling: SubgroupMatrixGemmTiling): number {
  const tile = subgroupMatrixGemmTile(matrix, tiling);
  const subgroups = tiling.subgroupRows * tiling.subgroupCols;
  const staged = (tile.rows + tile.out) * (strideWords(tiling) * 4 + stepBlocks(tiling) * 8);
  const { lines, lineWords } = resultGeometry(matrix, tiling);
  return staged + regionsPerSubgroup(tiling) * subgroups * lines * lineWords * 4;
}

/**
 * The subgroup-matrix kernel's body after the shared WGSL (`int8-gemm-shader.ts`); the `enable` directives go first.
 * Per block `bi` of a step: every subgroup multiplies its `matrixRows × matrixCols` pairs (`32 / K` multiplies each,
 * from a zero result), stores the results to its regions with the barriers its `scaling` asks for, and adds
 * `f32(s) · d_a · d_w` (minus `d_a Σq_a · m_w` when `minimum`) per element it owns.
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
  const blocks = stepBlocks(tiling);
  const stride = strideWords(tiling);
  const vectors = blocks * 2;
  // A stored result: M rows of N elements (or N columns of M), `lineWords` words apart.
  const { byColumn, run, lines, lineWords } = resultGeometry(matrix, tiling);
  const resultWords = lines * lineWords;
  if (32 % K !== 0 || K % 4 !== 0 || subgroupSize % run !== 0 || !Number.isInteger(elements)) {
    throw new Error(`int8 GEMM: unsupported subgroup matrix ${JSON.stringify(matrix)}`);
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < tiling.matrixRows; i++) for (let j = 0; j < tiling.matrixCols; j++) pairs.push([i, j]);
  const copies = (count: number) => Math.ceil(count / invocations);
  const guarded = (count: number, copy: number, statement: string) =>
    (copy + 1) * invocations > count ? `if (local + ${copy * invocations}u < ${count}u) { ${statement} }` : statement;

  // Prefetch: each copy's 16 bytes (`vectors` per row and step) and scale pairs (`blocks` per row and step).
  const registers: string[] = [];
  const fetch: string[] = [];
  const keep: string[] = [];
  const staged = (name: 'a' | 'b', rows: number, target: 'tileA' | 'tileB', first: string) => {
    for (let copy = 0; copy < copies(rows * vectors); copy++) {
      const index = `(local + ${copy * invocations}u)`;
      const read =
        name === 'a'
          ? `activation_quants(${first} + ${index} / ${vectors}u, next * ${vectors}u + ${index} % ${vectors}u)`
          : `weight_quants(${first} + ${index} / ${vectors}u, next * ${blocks}u + (${index} % ${vectors}u) / 2u, ${index} % 2u)`;
      registers.push(`  var ${name}Next${copy} = vec4<u32>();`);
      fetch.push(guarded(rows * vectors, copy, `${name}Next${copy} = ${read};`));
      const write = [0, 1, 2, 3]
        .map(
          (lane) =>
            `${target}[(${index} / ${vectors}u) * ${stride}u + (${index} % ${vectors}u) * 4u + ${lane}u] = bitcast<i32>(${name}Next${copy}.${'xyzw'[lane]});`,
        )
        .join(' ');
      keep.push(guarded(rows * vectors, copy, `{ ${write} }`));
    }
    for (let copy = 0; copy < copies(rows * blocks); copy++) {
      const index = `(local + ${copy * invocations}u)`;
      const read =
        name === 'a'
          ? `activation_scale_pair(${first} + ${index} / ${blocks}u, next * ${blocks}u + ${index} % ${blocks}u)`
          : `weight_scale(${first} + ${index} / ${blocks}u, next * ${blocks}u + ${index} % ${blocks}u)`;
      const scales = name === 'a' ? 'scaleA' : 'scaleB';
      registers.push(`  var ${name}ScaleNext${copy} = vec2<f32>();`);
      fetch.push(guarded(rows * blocks, copy, `${name}ScaleNext${copy} = ${read};`));
      keep.push(
        guarded(
          rows * blocks,
          copy,
          `${scales}[(${index} % ${blocks}u) * ${rows}u + ${index} / ${blocks}u] = ${name}ScaleNext${copy};`,
        ),
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
        `      let left${kk}_${i} = subgroupMatrixLoad<Left, row_major>(&tileA, (subgroupRow * ${tiling.matrixRows * M}u + ${i * M}u) * ${stride}u + ${offset}, ${stride}u);`,
      );
    }
    for (let j = 0; j < tiling.matrixCols; j++) {
      block.push(
        `      let right${kk}_${j} = subgroupMatrixLoad<Right, col_major>(&tileB, (subgroupCol * ${tiling.matrixCols * N}u + ${j * N}u) * ${stride}u + ${offset}, ${stride}u);`,
      );
    }
  }
  // The multiplies of result (i, j): all of a block's before its first store (`multiply: 'together'`), or each just
  // before its own store (`each`: one result's registers live at a time).
  const multiplies = (i: number, j: number) =>
    Array.from({ length: 32 / K }, (_, step) => {
      const kk = step * K;
      const start = kk === 0 ? 'Result()' : `product${i}_${j}`;
      return `      ${kk === 0 ? 'var ' : ''}product${i}_${j} = subgroupMatrixMultiplyAccumulate(left${kk}_${i}, right${kk}_${j}, ${start});`;
    });
  const each = tiling.multiply === 'each';
  if (!each) for (const [i, j] of pairs) block.push(...multiplies(i, j));
  // Element e of a lane: row-major results hold a row's N words together, column-major a column's M words.
  const perPass = subgroupSize / run;
  const rowOf = (e: number) => (byColumn ? `lane % ${M}u` : `lane / ${N}u + ${e * perPass}u`);
  const columnOf = (e: number) => (byColumn ? `lane / ${M}u + ${e * perPass}u` : `lane % ${N}u`);
  // Scales read per block: a row's once per result row i (and per element when rows vary along the elements), a
  // column's once per result column j (and per element when columns do).
  const rowScale = (e: number) => (byColumn ? 0 : e);
  const columnScale = (e: number) => (byColumn ? e : 0);
  const rowElements = byColumn ? 1 : elements;
  const columnElements = byColumn ? elements : 1;
  const scaleRow = (i: number, e: number) =>
    `bi * ${tile.rows}u + subgroupRow * ${tiling.matrixRows * M}u + ${i * M}u + ${rowOf(e)}`;
  const scaleCol = (j: number, e: number) =>
    `bi * ${tile.out}u + subgroupCol * ${tiling.matrixCols * N}u + ${j * N}u + ${columnOf(e)}`;
  // `acc += s · d_a · d_w (− d_a Σq_a · m_w)` for element e of result (i, j), read from `region`.
  const scaled = (i: number, j: number, e: number, region: string) => {
    const word = `scratch[${region} + laneWord + ${e * perPass * lineWords}u]`;
    const value =
      tiling.conversion === 'mantissa'
        ? `(bitcast<f32>(${word} + ${MANTISSA_BITS}i) - ${MANTISSA_VALUE})`
        : `f32(${word})`;
    const [sa, sb] = [`sa${i}_${rowScale(e)}`, `sb${j}_${columnScale(e)}`];
    const term = minimum ? `${value} * (${sa}.x * ${sb}.x) - ${sa}.y * ${sb}.y` : `${value} * (${sa}.x * ${sb}.x)`;
    return `      acc${i}_${j}_${e} += ${term};`;
  };
  for (let j = 0; j < tiling.matrixCols; j++) {
    for (let e = 0; e < columnElements; e++) block.push(`      let sb${j}_${e} = scaleB[${scaleCol(j, e)}];`);
  }
  const rowScales = (i: number) =>
    Array.from({ length: rowElements }, (_, e) => `      let sa${i}_${e} = scaleA[${scaleRow(i, e)}];`);
  const storeResult = (region: string, i: number, j: number) =>
    `      subgroupMatrixStore<${byColumn ? 'col' : 'row'}_major>(&scratch, ${region}, product${i}_${j}, ${lineWords}u);`;
  if (tiling.scaling === 'block') {
    // Every result of the block to its own region, then one barrier.
    const region = (pair: number) =>
      `((bi * ${subgroups}u + subgroup) * ${pairs.length}u + ${pair}u) * ${resultWords}u`;
    pairs.forEach(([i, j], pair) => {
      if (each) block.push(...multiplies(i, j));
      block.push(storeResult(region(pair), i, j));
    });
    block.push('      workgroupBarrier();');
    for (let i = 0; i < tiling.matrixRows; i++) block.push(...rowScales(i));
    pairs.forEach(([i, j], pair) => {
      for (let e = 0; e < elements; e++) block.push(scaled(i, j, e, region(pair)));
    });
  } else {
    // `resultsPerBarrier` results at a time into one of two alternating sets of regions, a barrier each set: a set is
    // written again only after the next barrier, which every invocation reaches after scaling from it.
    // With an odd number of sets per block, the set alternates with the block too.
    const perBarrier = resultsPerBarrier(tiling);
    const groups = Math.ceil(pairs.length / perBarrier);
    const loaded = new Set<number>();
    for (let first = 0; first < pairs.length; first += perBarrier) {
      const group = pairs.slice(first, first + perBarrier);
      const index = first / perBarrier;
      const set = groups % 2 === 0 ? `${index % 2}u` : `((bi + ${index}u) % 2u)`;
      const region = (member: number) =>
        `((${set} * ${perBarrier}u + ${member}u) * ${subgroups}u + subgroup) * ${resultWords}u`;
      group.forEach(([i, j], member) => {
        if (!loaded.has(i)) {
          loaded.add(i);
          block.push(...rowScales(i));
        }
        if (each) block.push(...multiplies(i, j));
        block.push(storeResult(region(member), i, j));
      });
      block.push('      workgroupBarrier();');
      group.forEach(([i, j], member) => {
        for (let e = 0; e < elements; e++) block.push(scaled(i, j, e, region(member)));
      });
    }
  }

  const accumulators = pairs
    .flatMap(([i, j]) => Array.from({ length: elements }, (_, e) => `  var acc${i}_${j}_${e} = 0.0;`))
    .join('\n');
  const stores = pairs
    .flatMap(([i, j]) =>
      Array.from(
        { length: elements },
        (_, e) => `  store(row0 + ${i * M}u + ${rowOf(e)}, col0 + ${j * N}u + ${columnOf(e)}, acc${i}_${j}_${e});`,
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

// tileA[r * ${stride} + w]: word w (columns 4w … 4w + 3 of the step) of the tile's input row r; tileB likewise.
var<workgroup> tileA: array<i32, ${tile.rows * stride}>;
var<workgroup> tileB: array<i32, ${tile.out * stride}>;
// scaleA[bi * ${tile.rows} + r]: (d_a, d_a · Σ q_a) of block bi of the step; scaleB[bi * ${tile.out} + o]: (d_w, m_w).
var<workgroup> scaleA: array<vec2<f32>, ${blocks * tile.rows}>;
var<workgroup> scaleB: array<vec2<f32>, ${blocks * tile.out}>;
// ${M} × ${N} i32 results: ${regionsPerSubgroup(tiling)} regions per subgroup.
var<workgroup> scratch: array<i32, ${regionsPerSubgroup(tiling) * subgroups * resultWords}>;

@compute @workgroup_size(${invocations})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(subgroup_id) subgroup: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(local_invocation_index) local: u32) {
  let subgroupRow = subgroup / ${tiling.subgroupCols}u;
  let subgroupCol = subgroup % ${tiling.subgroupCols}u;
  let tileRow = group.y * ${tile.rows}u;
  let tileCol = group.x * ${tile.out}u;
  let row0 = tileRow + subgroupRow * ${tiling.matrixRows * M}u;
  let col0 = tileCol + subgroupCol * ${tiling.matrixCols * N}u;
  // The word of a stored result this invocation scales first (its element 0).
  let laneWord = (lane / ${run}u) * ${lineWords}u + lane % ${run}u;
${accumulators}
${registers.join('\n')}
  let steps = (params.columns + ${stepColumns(tiling) - 1}u) / ${stepColumns(tiling)}u;
  var next = 0u;
${indent(fetch, '  ')}
  for (var step = 0u; step < steps; step++) {
${indent(keep, '    ')}
    workgroupBarrier();
    if (step + 1u < steps) {
      next = step + 1u;
${indent(fetch, '      ')}
    }
    for (var bi = 0u; bi < ${blocks}u; bi++) {
${block.join('\n')}
    }
    workgroupBarrier();
  }
${stores}
}
`;
}
