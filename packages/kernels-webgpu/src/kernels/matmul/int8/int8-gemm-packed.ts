import type { PackedGemmTiling } from './int8-gemm-shader.js';

/** Invocations per workgroup of the portable kernel. */
const INVOCATIONS = 256;

/** Why a tiling cannot be built (undefined when it can). */
export function packedTilingProblem(tiling: PackedGemmTiling): string | undefined {
  const { rows, out, threadRows, threadOut } = tiling;
  if (threadRows % 4 !== 0 || threadOut % 4 !== 0) return 'threadRows and threadOut must be multiples of 4';
  if (rows % threadRows !== 0 || out % threadOut !== 0) return 'the tile must be whole invocation blocks';
  if ((rows / threadRows) * (out / threadOut) !== INVOCATIONS) return `the tile must take ${INVOCATIONS} invocations`;
  return undefined;
}

/**
 * Bytes of workgroup memory: 16 words (64 columns) of each of the tile's input rows and weight rows, and the
 * `vec2<f32>` scale pairs of their two blocks.
 */
export function packedGemmWorkgroupBytes(tiling: PackedGemmTiling): number {
  return (tiling.rows + tiling.out) * (16 * 4 + 2 * 8);
}

/**
 * The portable kernel's body after the shared WGSL (`int8-gemm-shader.ts`). Per step of 64 columns the workgroup
 * stages both blocks of its rows in workgroup memory, word-major in `vec4<u32>`s of 4 consecutive rows (like the f32
 * tiled kernel), with each block's scale pair. Per block, each invocation sums `dot4I8Packed` over the 8 words into
 * `threadRows × threadOut` i32 registers, then adds `f32(sum) · d_a · d_w` (minus `d_a Σq_a · m_w` when `minimum`) to
 * its f32 accumulators. Integer sums of one block are exact (|Σ| ≤ 32 · 128 · 127).
 */
export function packedGemmBody(common: string, tiling: PackedGemmTiling, minimum: boolean): string {
  const problem = packedTilingProblem(tiling);
  if (problem !== undefined) throw new Error(`int8 GEMM: unsupported tiling ${JSON.stringify(tiling)}: ${problem}`);
  const { rows: TM, out: TN, threadRows: RM, threadOut: RN } = tiling;
  const threadsY = TM / RM;
  const threadsX = TN / RN;
  const groupsA = TM / 4;
  const groupsW = TN / 4;
  const blocksA = RM / 4;
  const blocksW = RN / 4;
  const lanes = ['x', 'y', 'z', 'w'];
  const index = (b: number, c: number, v: number, j: number) => (b * 4 + c) * RN + v * 4 + j;
  const products: string[] = [];
  for (let b = 0; b < blocksA; b++) products.push(`      let a${b} = tileA[k * ${groupsA}u + ty + ${b * threadsY}u];`);
  for (let v = 0; v < blocksW; v++) products.push(`      let w${v} = tileW[k * ${groupsW}u + tx + ${v * threadsX}u];`);
  const folds: string[] = [];
  for (let b = 0; b < blocksA; b++) {
    for (let c = 0; c < 4; c++) {
      folds.push(`    let sa${b}${c} = scaleA[bi * ${TM}u + (ty + ${b * threadsY}u) * 4u + ${c}u];`);
      for (let v = 0; v < blocksW; v++) {
        for (let j = 0; j < 4; j++) {
          products.push(
            `      dots[${index(b, c, v, j)}] = dot4I8Packed(a${b}.${lanes[c]}, w${v}.${lanes[j]}) + dots[${index(b, c, v, j)}];`,
          );
        }
      }
    }
  }
  for (let v = 0; v < blocksW; v++) {
    for (let j = 0; j < 4; j++)
      folds.push(`    let sw${v}${j} = scaleW[bi * ${TN}u + (tx + ${v * threadsX}u) * 4u + ${j}u];`);
  }
  const stores: string[] = [];
  for (let b = 0; b < blocksA; b++) {
    for (let c = 0; c < 4; c++) {
      for (let v = 0; v < blocksW; v++) {
        for (let j = 0; j < 4; j++) {
          const at = index(b, c, v, j);
          const term = minimum
            ? `f32(dots[${at}]) * (sa${b}${c}.x * sw${v}${j}.x) - sa${b}${c}.y * sw${v}${j}.y`
            : `f32(dots[${at}]) * (sa${b}${c}.x * sw${v}${j}.x)`;
          folds.push(`    acc[${at}] += ${term};`);
          stores.push(
            `  store(firstRow + (ty + ${b * threadsY}u) * 4u + ${c}u, firstOut + (tx + ${v * threadsX}u) * 4u + ${j}u, acc[${at}]);`,
          );
        }
      }
    }
  }
  const count = RM * RN;
  return /* wgsl */ `${common}
// tileA[w * ${groupsA} + r / 4][r % 4]: word w (of 16: columns 4w … 4w + 3 of the step) of the tile's input row r;
// tileW likewise for its weight rows. scaleA[bi * ${TM} + r]: (d_a, d_a · Σ q_a) of block bi of the step; scaleW: (d_w, m_w).
var<workgroup> tileA: array<vec4<u32>, ${16 * groupsA}>;
var<workgroup> tileW: array<vec4<u32>, ${16 * groupsW}>;
var<workgroup> scaleA: array<vec2<f32>, ${2 * TM}>;
var<workgroup> scaleW: array<vec2<f32>, ${2 * TN}>;

@compute @workgroup_size(${INVOCATIONS})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) li: u32) {
  let tx = li % ${threadsX}u;
  let ty = li / ${threadsX}u;
  let firstOut = group.x * ${TN}u;
  let firstRow = group.y * ${TM}u;
  var acc: array<f32, ${count}>;
  var dots: array<i32, ${count}>;
  let steps = (params.columns + 63u) / 64u;
  for (var step = 0u; step < steps; step++) {
    for (var slot = li; slot < ${TM * 4}u; slot += ${INVOCATIONS}u) {
      let r = slot / 4u;
      let v = slot % 4u;
      let a = activation_quants(firstRow + r, step * 4u + v);
      for (var i = 0u; i < 4u; i++) { tileA[(v * 4u + i) * ${groupsA}u + r / 4u][r % 4u] = a[i]; }
    }
    for (var slot = li; slot < ${TN * 4}u; slot += ${INVOCATIONS}u) {
      let o = slot / 4u;
      let v = slot % 4u;
      let w = weight_quants(firstOut + o, step * 2u + v / 2u, v % 2u);
      for (var i = 0u; i < 4u; i++) { tileW[(v * 4u + i) * ${groupsW}u + o / 4u][o % 4u] = w[i]; }
    }
    for (var slot = li; slot < ${TM * 2}u; slot += ${INVOCATIONS}u) {
      scaleA[(slot % 2u) * ${TM}u + slot / 2u] = activation_scale_pair(firstRow + slot / 2u, step * 2u + slot % 2u);
    }
    for (var slot = li; slot < ${TN * 2}u; slot += ${INVOCATIONS}u) {
      scaleW[(slot % 2u) * ${TN}u + slot / 2u] = weight_scale(firstOut + slot / 2u, step * 2u + slot % 2u);
    }
    workgroupBarrier();
    for (var bi = 0u; bi < 2u; bi++) {
      dots = array<i32, ${count}>();
      for (var k = bi * 8u; k < bi * 8u + 8u; k++) {
${products.join('\n')}
      }
${folds.join('\n')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}
`;
}
