// WGSL for an 8-bit integer GEMM on subgroup matrices (Dawn's `chromium_experimental_subgroup_matrix`, Vulkan
// cooperative matrices): C[row][col] = Σ_k A[row][k] · B[col][k], A = activations [rows × depth], B = weights
// [cols × depth] ("B transposed", like a Q8_0 weight), both row-major with k contiguous, 8-bit components packed 4 per
// 32-bit word; C is 32-bit, row-major [rows × cols]. A probe for the prefill mat-mul, not routed by the backend.
//
// The matrix types follow Dawn's docs/dawn/features/subgroup_matrix.md: `subgroup_matrix_left<T, K, M>` is M rows × K
// columns, `subgroup_matrix_right<T, N, K>` K rows × N columns, `subgroup_matrix_result<R, N, M>` M rows × N columns
// (columns first). A left tile of A is row-major with A's row stride; a right tile (k rows × n columns) of B is
// column-major with B's row stride: its element [kk][j] is B[col + j][k + kk].
//
// Two spellings of the load and store builtins:
// - 'templated' (current Dawn): `subgroupMatrixLoad<T, row_major>(&array, offset, stride)` and
//   `subgroupMatrixStore<row_major>(&array, offset, value, stride)`; offset and stride count ARRAY elements (i32/u32
//   words), so 8-bit offsets and strides are byte counts / 4 (Dawn's end-to-end tests divide by 4).
// - 'legacy' (deprecated): `subgroupMatrixLoad<T>(&array, offset, col_major_bool, stride)`; offset and stride count
//   COMPONENTS (bytes for i8/u8).

/** An 8-bit subgroup-matrix configuration of the adapter (`adapter.info.subgroupMatrixConfigs`). */
export interface IntegerMatrixConfig {
  /** Component type of the left and right matrices. */
  readonly componentType: 'i8' | 'u8';
  /** Component type of the result matrix. */
  readonly resultComponentType: 'i32' | 'u32';
  /** Rows of the left and result matrices. */
  readonly M: number;
  /** Columns of the right and result matrices. */
  readonly N: number;
  /** Columns of the left matrix, rows of the right one (8-bit components). */
  readonly K: number;
}

/** How a GEMM kernel tiles the output. */
export interface GemmTiling {
  /** Subgroups per workgroup along the rows and along the columns. */
  readonly subgroupRows: number;
  /** Subgroups per workgroup along the columns. */
  readonly subgroupCols: number;
  /** Result matrices per subgroup along the rows (each M rows). */
  readonly matrixRows: number;
  /** Result matrices per subgroup along the columns (each N columns). */
  readonly matrixCols: number;
  /** 'direct': every subgroup loads its left/right matrices from storage; 'shared': staged in workgroup memory. */
  readonly staging: 'direct' | 'shared';
  /** Bytes of depth staged per step ('shared'; a multiple of K and of 16). */
  readonly depthStep: number;
  /** 'shared': load the next step's words into registers while the current one is multiplied. */
  readonly prefetch: boolean;
  /** Load/store builtin spelling (see the file comment). */
  readonly syntax: 'templated' | 'legacy';
}

/** A GEMM shape: `rows` activation rows, `cols` weight rows (output columns), `depth` 8-bit values per row. */
export interface GemmShape {
  /** Rows of A and C. */
  readonly rows: number;
  /** Rows of B, columns of C. */
  readonly cols: number;
  /** Columns of A and B (bytes per row). */
  readonly depth: number;
}

/** Output rows and columns one workgroup computes, and its invocation count. */
export function workgroupTile(
  config: IntegerMatrixConfig,
  tiling: GemmTiling,
  subgroupSize: number,
): { rows: number; cols: number; invocations: number } {
  return {
    rows: tiling.subgroupRows * tiling.matrixRows * config.M,
    cols: tiling.subgroupCols * tiling.matrixCols * config.N,
    invocations: tiling.subgroupRows * tiling.subgroupCols * subgroupSize,
  };
}

/** Why a tiling cannot run a shape (undefined when it can). */
export function unsupportedReason(
  config: IntegerMatrixConfig,
  tiling: GemmTiling,
  shape: GemmShape,
  subgroupSize: number,
): string | undefined {
  const tile = workgroupTile(config, tiling, subgroupSize);
  if (shape.rows % tile.rows !== 0 || shape.cols % tile.cols !== 0) {
    return `shape not a multiple of the ${tile.rows}×${tile.cols} workgroup tile`;
  }
  const step = tiling.staging === 'shared' ? tiling.depthStep : config.K;
  if (shape.depth % step !== 0 || step % config.K !== 0 || step % 16 !== 0) {
    return `depth ${shape.depth} not a multiple of the ${step}-byte step (K ${config.K})`;
  }
  return undefined;
}

/** A short name of a tiling for tables. */
export function tilingName(config: IntegerMatrixConfig, tiling: GemmTiling, subgroupSize: number): string {
  const tile = workgroupTile(config, tiling, subgroupSize);
  const base = `${tiling.staging} ${tile.rows}×${tile.cols} sg${tiling.subgroupRows}×${tiling.subgroupCols} m${tiling.matrixRows}×${tiling.matrixCols}`;
  const staged = tiling.staging === 'shared' ? ` k${tiling.depthStep}${tiling.prefetch ? ' prefetch' : ''}` : '';
  return `${base}${staged}${tiling.syntax === 'legacy' ? ' legacy-syntax' : ''}`;
}

/** The kernel's WGSL. Bindings: 0 A (read), 1 B (read), 2 C (read_write); one workgroup per output tile (x: columns). */
export function integerGemmWgsl(
  config: IntegerMatrixConfig,
  tiling: GemmTiling,
  shape: GemmShape,
  subgroupSize: number,
): string {
  const word = config.componentType === 'i8' ? 'i32' : 'u32';
  const resultWord = config.resultComponentType;
  const tile = workgroupTile(config, tiling, subgroupSize);
  const legacy = tiling.syntax === 'legacy';
  // Units of offsets and strides of the 8-bit operands: words ('templated') or bytes ('legacy').
  const unit = legacy ? 1 : 4;
  const load = (kind: 'Left' | 'Right', array: string, offset: string, columnMajor: boolean, stride: string) =>
    legacy
      ? `subgroupMatrixLoad<${kind}>(&${array}, ${offset}, ${columnMajor}, ${stride})`
      : `subgroupMatrixLoad<${kind}, ${columnMajor ? 'col_major' : 'row_major'}>(&${array}, ${offset}, ${stride})`;
  const store = (offset: string, value: string) =>
    legacy
      ? `subgroupMatrixStore(&c, ${offset}, ${value}, false, COLS)`
      : `subgroupMatrixStore<row_major>(&c, ${offset}, ${value}, COLS)`;
  const pairs: [number, number][] = [];
  for (let i = 0; i < tiling.matrixRows; i++) for (let j = 0; j < tiling.matrixCols; j++) pairs.push([i, j]);
  const accumulators = pairs.map(([i, j]) => `  var acc${i}_${j} = Result();`).join('\n');
  const stores = pairs
    .map(([i, j]) => `  ${store(`(row0 + ${i * config.M}u) * COLS + col0 + ${j * config.N}u`, `acc${i}_${j}`)};`)
    .join('\n');
  const multiply = (indent: string, leftOffset: (i: number) => string, rightOffset: (j: number) => string) => {
    const lines: string[] = [];
    for (let i = 0; i < tiling.matrixRows; i++) {
      lines.push(`${indent}let left${i} = ${leftOffset(i)};`);
    }
    for (let j = 0; j < tiling.matrixCols; j++) {
      lines.push(`${indent}let right${j} = ${rightOffset(j)};`);
    }
    for (const [i, j] of pairs) {
      lines.push(`${indent}acc${i}_${j} = subgroupMatrixMultiplyAccumulate(left${i}, right${j}, acc${i}_${j});`);
    }
    return lines.join('\n');
  };
  const header = `enable chromium_experimental_subgroup_matrix;
enable subgroups;
diagnostic(off, chromium.subgroup_matrix_uniformity);

alias Left = subgroup_matrix_left<${config.componentType}, ${config.K}, ${config.M}>;
alias Right = subgroup_matrix_right<${config.componentType}, ${config.N}, ${config.K}>;
alias Result = subgroup_matrix_result<${resultWord}, ${config.N}, ${config.M}>;

const COLS = ${shape.cols}u;
// Row stride of A and B in load units (${legacy ? 'bytes' : 'words'}).
const DEPTH_UNITS = ${shape.depth / unit}u;
const SUBGROUP_COLS = ${tiling.subgroupCols}u;
`;
  const entry = `@compute @workgroup_size(${tile.invocations})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(subgroup_id) subgroup: u32,
        @builtin(local_invocation_index) local: u32) {
  let subgroupRow = subgroup / SUBGROUP_COLS;
  let subgroupCol = subgroup % SUBGROUP_COLS;
  let tileRow = group.y * ${tile.rows}u;
  let tileCol = group.x * ${tile.cols}u;
  let row0 = tileRow + subgroupRow * ${tiling.matrixRows * config.M}u;
  let col0 = tileCol + subgroupCol * ${tiling.matrixCols * config.N}u;
${accumulators}`;

  if (tiling.staging === 'direct') {
    const kStep = config.K / unit;
    const body = multiply(
      '    ',
      (i) => load('Left', 'a', `(row0 + ${i * config.M}u) * DEPTH_UNITS + k`, false, 'DEPTH_UNITS'),
      (j) => load('Right', 'b', `(col0 + ${j * config.N}u) * DEPTH_UNITS + k`, true, 'DEPTH_UNITS'),
    );
    return `${header}
@group(0) @binding(0) var<storage, read> a: array<${word}>;
@group(0) @binding(1) var<storage, read> b: array<${word}>;
@group(0) @binding(2) var<storage, read_write> c: array<${resultWord}>;

${entry}
  for (var k = 0u; k < DEPTH_UNITS; k += ${kStep}u) {
${body}
  }
${stores}
}
`;
  }

  // Shared staging: per step, the workgroup copies A[tileRow.., k..k+step] and B[tileCol.., k..] into workgroup memory
  // (rows padded by 16 bytes), 16 bytes per invocation and copy; each subgroup then loads its matrices from there.
  const step = tiling.depthStep;
  const vectorsPerRow = step / 16;
  const strideWords = step / 4 + 4;
  const strideUnits = legacy ? strideWords * 4 : strideWords;
  const copies = (rows: number) => Math.ceil((rows * vectorsPerRow) / tile.invocations);
  const copyLines = (source: 'a' | 'b', target: 'tileA' | 'tileB', rows: number, first: string, prefetch: boolean) => {
    const lines: string[] = [];
    for (let copy = 0; copy < copies(rows); copy++) {
      const index = `local + ${copy * tile.invocations}u`;
      const guard = (copy + 1) * tile.invocations > rows * vectorsPerRow;
      const read = `${source}4[(${first} + (${index}) / ${vectorsPerRow}u) * DEPTH_VECTORS + kv + (${index}) % ${vectorsPerRow}u]`;
      const write = (value: string) =>
        [0, 1, 2, 3]
          .map(
            (lane) =>
              `${target}[((${index}) / ${vectorsPerRow}u) * ${strideWords}u + ((${index}) % ${vectorsPerRow}u) * 4u + ${lane}u] = ${value}.${'xyzw'[lane]};`,
          )
          .join(' ');
      const name = `${source}Next${copy}`;
      if (prefetch) {
        lines.push(guard ? `if (${index} < ${rows * vectorsPerRow}u) { ${name} = ${read}; }` : `${name} = ${read};`);
      } else {
        const statement = `{ let v = ${read}; ${write('v')} }`;
        lines.push(guard ? `if (${index} < ${rows * vectorsPerRow}u) ${statement}` : statement);
      }
    }
    return lines;
  };
  const storeNext = (target: 'tileA' | 'tileB', source: 'a' | 'b', rows: number) => {
    const lines: string[] = [];
    for (let copy = 0; copy < copies(rows); copy++) {
      const index = `local + ${copy * tile.invocations}u`;
      const guard = (copy + 1) * tile.invocations > rows * vectorsPerRow;
      const name = `${source}Next${copy}`;
      const write = [0, 1, 2, 3]
        .map(
          (lane) =>
            `${target}[((${index}) / ${vectorsPerRow}u) * ${strideWords}u + ((${index}) % ${vectorsPerRow}u) * 4u + ${lane}u] = ${name}.${'xyzw'[lane]};`,
        )
        .join(' ');
      lines.push(guard ? `if (${index} < ${rows * vectorsPerRow}u) { ${write} }` : `{ ${write} }`);
    }
    return lines;
  };
  const inner: string[] = [];
  for (let kk = 0; kk < step; kk += config.K) {
    const offsetUnits = kk / unit;
    inner.push(
      multiply(
        '    ',
        (i) =>
          load(
            'Left',
            'tileA',
            `(subgroupRow * ${tiling.matrixRows * config.M}u + ${i * config.M}u) * ${strideUnits}u + ${offsetUnits}u`,
            false,
            `${strideUnits}u`,
          ),
        (j) =>
          load(
            'Right',
            'tileB',
            `(subgroupCol * ${tiling.matrixCols * config.N}u + ${j * config.N}u) * ${strideUnits}u + ${offsetUnits}u`,
            true,
            `${strideUnits}u`,
          ),
      ).replace(/\b(left|right)(\d+)\b/g, `$1${kk}_$2`),
    );
  }
  const indent = (lines: string[], spaces: string) => lines.map((line) => `${spaces}${line}`).join('\n');
  const registers = (source: 'a' | 'b', rows: number) =>
    Array.from({ length: copies(rows) }, (_, copy) => `  var ${source}Next${copy} = vec4<${word}>();`).join('\n');
  const loop = tiling.prefetch
    ? `${registers('a', tile.rows)}
${registers('b', tile.cols)}
  var kv = 0u;
${indent(copyLines('a', 'tileA', tile.rows, 'tileRow', true), '  ')}
${indent(copyLines('b', 'tileB', tile.cols, 'tileCol', true), '  ')}
  for (var step = 0u; step < STEPS; step++) {
${indent(storeNext('tileA', 'a', tile.rows), '    ')}
${indent(storeNext('tileB', 'b', tile.cols), '    ')}
    workgroupBarrier();
    if (step + 1u < STEPS) {
      kv = (step + 1u) * ${vectorsPerRow}u;
${indent(copyLines('a', 'tileA', tile.rows, 'tileRow', true), '      ')}
${indent(copyLines('b', 'tileB', tile.cols, 'tileCol', true), '      ')}
    }
${inner.join('\n')}
    workgroupBarrier();
  }`
    : `  for (var step = 0u; step < STEPS; step++) {
    let kv = step * ${vectorsPerRow}u;
${indent(copyLines('a', 'tileA', tile.rows, 'tileRow', false), '    ')}
${indent(copyLines('b', 'tileB', tile.cols, 'tileCol', false), '    ')}
    workgroupBarrier();
${inner.join('\n')}
    workgroupBarrier();
  }`;
  return `${header}const DEPTH_VECTORS = ${shape.depth / 16}u;
const STEPS = ${shape.depth / step}u;

@group(0) @binding(0) var<storage, read> a4: array<vec4<${word}>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<${word}>>;
@group(0) @binding(2) var<storage, read_write> c: array<${resultWord}>;

var<workgroup> tileA: array<${word}, ${tile.rows * strideWords}>;
var<workgroup> tileB: array<${word}, ${tile.cols * strideWords}>;

${entry}
${loop}
${stores}
}
`;
}
