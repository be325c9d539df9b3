import { Q8_0_BLOCK_SIZE, StrataError } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { BufferBinding, DispatchCommand } from '../../runtime/recorder.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { combineSplits } from './attention-combine.js';
import { ATTENTION_PARAMS } from './attention-params.js';
import { softmaxLanes, tileSoftmaxWgsl } from './attention-softmax.js';
import type { AttentionPlan } from './attention-plan.js';
import { q8ScaleWordIndex, WGSL_Q8_READ } from './q8-cache-wgsl.js';

/**
 * How the attention kernel finds a key: `ring`, one contiguous cache whose row `position mod capacity` holds a position
 * (queries at consecutive positions from a uniform one); `paged`, a pool of pages read through each row's sequence's
 * page table (queries of several sequences, each row with its own position).
 */
export type AttentionAddressing = 'ring' | 'paged';

/** WGSL: the block's rows of a ring call: R consecutive rows from a uniform first position. */
const RING_BLOCK = /* wgsl */ `
  let first_row = (block / head_blocks) * R;
  if (first_row >= params.rows) { return; }
  let row_count = min(R, params.rows - first_row);
  let first_query = params.first_position + first_row;
  let table_base = 0u;
  var first_key = params.first_key;`;

/**
 * WGSL: the block's rows of a paged call. Blocks never span two sequences: sequence s has ⌈rows_s / R⌉ blocks, in
 * sequence order, found by walking the sequence starts (a few reads of a read-only buffer per workgroup).
 */
const PAGED_BLOCK = /* wgsl */ `
  var remaining = block / head_blocks;
  var first_row = 0u;
  var row_count = 0u;
  var table_base = 0u;
  for (var sequence = 0u; sequence < params.sequences; sequence++) {
    let start = u32(sequence_starts[sequence]);
    let count = u32(sequence_starts[sequence + 1u]) - start;
    let blocks = (count + R - 1u) / R;
    if (remaining < blocks) {
      first_row = start + remaining * R;
      row_count = min(R, count - remaining * R);
      table_base = sequence * params.table_width;
      break;
    }
    remaining -= blocks;
  }
  if (row_count == 0u) { return; }
  let first_query = u32(positions_and_slots[2u * first_row]);
  var first_key = 0u;`;

/** WGSL: element `index` (0 or 1) of a word of two halves (an f16 KV cache; rows start on a word). */
const HALF_READER = /* wgsl */ `
fn element_of(word: u32, index: u32) -> f32 { return unpack2x16float(word)[index]; }`;

/** How the cache tensors hold keys and values: f32, f16 (two halves per word) or q8_0 (`WGSL_Q8_READ`). */
type CacheElements = 'f32' | 'f16' | 'q8_0';

/** WGSL: the value of element `column` of storage row `row` (a ring row or a page's row) of cache tensor `name`. */
function cacheElementWgsl(elements: CacheElements, name: string, row: string, column: string): string {
  if (elements === 'f16') return `element_of(${name}[(${row} * width + ${column}) >> 1u], ${column} & 1u)`;
  if (elements === 'f32') return `${name}[${row} * width + ${column}]`;
  return `q8_element(${name}[(${row} * width + ${column}) >> 2u], ${column}, ${name}[${q8ScaleWordIndex('params.capacity', 'width', row, column)}])`;
}

/** The component selectors of a piece of `width` floats: `.x` … `.w` for a vec4, nothing for a scalar. */
function lanesOf(width: number): string[] {
  return width === 4 ? ['.x', '.y', '.z', '.w'] : [''];
}

/** WGSL of the attention kernel (see {@link recordAttention}). */
function attentionShader(
  headDimensions: number,
  plan: AttentionPlan,
  softcap: boolean,
  elements: CacheElements,
  addressing: AttentionAddressing,
  subgroups: boolean,
): string {
  const paged = addressing === 'paged';
  const { slots: S, keyTile: BC, workgroupSize: WG, rowsPerBlock: R, headsPerBlock: HB } = plan;
  // The softmax of a tile: T invocations per query slot (a power of two), reduced by subgroup shuffles where the
  // subgroups hold T lanes; else (and without subgroups) one invocation per slot walks the tile's scores.
  const T = softmaxLanes(S, WG);
  const parallel = subgroups && T > 1;
  const HD = headDimensions;
  const split = plan.splits > 1;
  // Pieces of W dimensions (4 where the head size allows: vec4 reads of the tiles) in workgroup memory and registers;
  // tile rows are padded by W floats, which keeps neighbouring keys' reads on distinct banks in the score loop.
  const W = HD % 4 === 0 ? 4 : 1;
  const piece = W === 4 ? 'vec4<f32>' : 'f32';
  const product = (left: string, right: string) => (W === 4 ? `dot(${left}, ${right})` : `${left} * ${right}`);
  const element = (array: string, index: string) =>
    W === 4 ? `${array}[(${index}) / 4u][(${index}) % 4u]` : `${array}[${index}]`;
  const accumulators = Math.ceil((S * HD) / W / WG);
  // Tile loads: batches of LOAD_BATCH independent loads in straight-line code, so they are in flight together (a plain
  // strided loop issues one global load per iteration and waits on each). Tile rows are padded to HD + 1 floats so that
  // the score loop, where neighbouring invocations read neighbouring keys, hits distinct memory banks.
  const loads = Math.ceil((BC * HD) / WG);
  const batch = Math.min(8, loads);
  const load = (name: string) => {
    const lanes = Array.from({ length: batch }, (_, lane) => lane);
    return /* wgsl */ `
fn load_${name}(first_key: u32, last_key: u32, head_offset: u32, table_base: u32, li: u32) {
  let width = params.key_value_heads * HD;
  for (var base = 0u; base < ${loads}u; base += ${batch}u) {
${lanes
  .map(
    (lane) => `    let i${lane} = li + (base + ${lane}u) * WG;
    let k${lane} = first_key + i${lane} / HD;
    var v${lane} = 0.0;
    if (i${lane} < BC * HD && k${lane} <= last_key) { v${lane} = ${cacheElementWgsl(
      elements,
      name,
      `cache_row(k${lane}, table_base)`,
      `(head_offset + i${lane} % HD)`,
    )}; }`,
  )
  .join('\n')}
${lanes.map((lane) => `    if (i${lane} < BC * HD) { ${element('key_value_tile', `(i${lane} / HD) * HDP + i${lane} % HD`)} = v${lane}; }`).join('\n')}
  }
}`;
  };
  const softmax = tileSoftmaxWgsl(parallel);
  return /* wgsl */ `${parallel ? 'enable subgroups;\n' : ''}${ATTENTION_PARAMS}
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<${elements === 'f32' ? 'f32' : 'u32'}>;
@group(0) @binding(3) var<storage, read> values: array<${elements === 'f32' ? 'f32' : 'u32'}>;
${elements === 'f16' ? HALF_READER : elements === 'q8_0' ? WGSL_Q8_READ : ''}
@group(0) @binding(4) var<storage, read_write> destination: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial_state: array<f32>;
${
  paged
    ? `@group(0) @binding(6) var<storage, read> positions_and_slots: array<i32>;
@group(0) @binding(7) var<storage, read> sequence_starts: array<i32>;
@group(0) @binding(8) var<storage, read> page_tables: array<i32>;
// Storage row of position \`key\` of the sequence whose page table starts at \`table_base\`.
fn cache_row(key: u32, table_base: u32) -> u32 {
  return u32(page_tables[table_base + key / params.page_size]) * params.page_size + key % params.page_size;
}`
    : `// Ring row of position \`key\` (no page table).
fn cache_row(key: u32, table_base: u32) -> u32 { return key % params.capacity; }`
}
const HD = ${HD}u;
const HDP = ${HD + W}u;
const HDW = ${HD / W}u;
const HDPW = ${(HD + W) / W}u;
const S = ${S}u;
const R = ${R}u;
const HB = ${HB}u;
const BC = ${BC}u;
const WG = ${WG}u;
const MASKED = -3.0e38;
const T = ${T}u;
var<workgroup> query_tile: array<${piece}, ${(S * HD) / W}>;
var<workgroup> key_value_tile: array<${piece}, ${(BC * (HD + W)) / W}>;
var<workgroup> scores: array<f32, ${S * BC}>;
// Each slot's running maximum, two copies: a tile reads one (its parity) and writes the other.
var<workgroup> slot_max: array<f32, ${2 * S}>;
var<workgroup> slot_sum: array<f32, ${S}>;
var<workgroup> slot_alpha: array<f32, ${S}>;
${WGSL_LINEAR_GROUP}
${load('keys')}
${load('values')}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${parallel ? ', @builtin(subgroup_size) ss: u32' : ''}) {
  let linear = linear_group(group, groups);
  let split = linear % params.splits;
  let block = linear / params.splits;
  let head_blocks = params.heads / HB;
  let head_block = block % head_blocks;
${paged ? PAGED_BLOCK : RING_BLOCK}
  let first_head = head_block * HB;
  let head_offset = (first_head / (params.heads / params.key_value_heads)) * HD;
  let query_width = params.heads * HD;
  // Keys of this block: up to its last query; from its first query's window start; then this split's share.
  var last_key = first_query + row_count - 1u;
  if (params.window > 0u && first_query + 1u > params.window) { first_key = max(first_key, first_query + 1u - params.window); }
  if (first_key <= last_key) {
    let share = ((last_key - first_key + params.splits) / params.splits + BC - 1u) / BC * BC;
    first_key += split * share;
    last_key = min(last_key, first_key + share - 1u);
  }

  for (var index = li; index < S * HD; index += WG) {
    let slot = index / HD;
    var value = 0.0;
    if (slot / HB < row_count) {
      value = queries[(first_row + slot / HB) * query_width + (first_head + slot % HB) * HD + index % HD] * params.scale;
    }
    ${element('query_tile', 'index')} = value;
  }
  for (var slot = li; slot < S; slot += WG) { slot_max[slot] = MASKED; slot_sum[slot] = 0.0; }
  var accumulator: array<${piece}, ${accumulators}>;
  var parity = 0u;

  for (var tile_start = first_key; tile_start <= last_key; tile_start += BC) {
    workgroupBarrier();
    load_keys(tile_start, last_key, head_offset, table_base, li);
    workgroupBarrier();
    for (var index = li; index < S * BC; index += WG) {
      let slot = index / BC;
      let key = tile_start + index % BC;
      let query_position = first_query + slot / HB;
      var score = MASKED;
      if (slot / HB < row_count && key <= query_position && key <= last_key &&
          (params.window == 0u || key + params.window > query_position)) {
        var total = 0.0;
        for (var d = 0u; d < HDW; d++) { total += ${product('query_tile[slot * HDW + d]', 'key_value_tile[(index % BC) * HDPW + d]')}; }
        ${softcap ? 'total = params.softcap * tanh(clamp(total / params.softcap, -15.0, 15.0));' : ''}
        score = total;
      }
      scores[index] = score;
    }
    workgroupBarrier();
${softmax}    workgroupBarrier();
    load_values(tile_start, last_key, head_offset, table_base, li);
    workgroupBarrier();
    for (var item = 0u; item < ${accumulators}u; item++) {
      let index = li + item * WG;
      if (index < S * HDW) {
        let slot = index / HDW;
        let d = index % HDW;
        var sum = accumulator[item] * slot_alpha[slot];
        for (var column = 0u; column < BC; column++) { sum += scores[slot * BC + column] * key_value_tile[column * HDPW + d]; }
        accumulator[item] = sum;
      }
    }
    parity = 1u - parity;
  }
  workgroupBarrier();
  for (var item = 0u; item < ${accumulators}u; item++) {
    let index = li + item * WG;
    let slot = index / HDW;
    if (index < S * HDW && slot / HB < row_count) {
      let row = first_row + slot / HB;
      let head = first_head + slot % HB;
      let d = (index % HDW) * ${W}u;
      let value = accumulator[item];
      ${
        split
          ? `let state = (row * params.heads + head) * params.splits + split;
${lanesOf(W)
  .map((lane, c) => `      destination[state * HD + d + ${c}u] = value${lane};`)
  .join('\n')}
      if (d == 0u) { partial_state[state * 2u] = slot_max[parity * S + slot]; partial_state[state * 2u + 1u] = slot_sum[slot]; }`
          : `let total = slot_sum[slot];
${lanesOf(W)
  .map(
    (lane, c) =>
      `      destination[row * query_width + head * HD + d + ${c}u] = select(0.0, value${lane} / total, total > 0.0);`,
  )
  .join('\n')}`
      }
    }
  }
}`;
}

/** Scalars of one attention call (see the `Params` struct). */
export interface AttentionScalars {
  /** Query rows. */
  readonly rows: number;
  /** Query heads. */
  readonly heads: number;
  /** Key/value heads. */
  readonly keyValueHeads: number;
  /** Size of one head. */
  readonly headDimensions: number;
  /** Storage rows of the cache: the ring's rows, or the pool's (pages · pageSize). */
  readonly capacity: number;
  /** Paged: rows per page (0 for a ring call). */
  readonly pageSize: number;
  /** Sliding window (0: none). */
  readonly window: number;
  /** q·k multiplier. */
  readonly scale: number;
  /** Softcap (0: none). */
  readonly softcap: number;
  /** Paged: sequences of the batch (0 for a ring call). */
  readonly sequences: number;
  /** Paged: page-table columns (0 for a ring call). */
  readonly tableWidth: number;
}

/** One attention call for {@link recordAttention}. */
export interface AttentionCall {
  /** Ring or paged. */
  readonly addressing: AttentionAddressing;
  /** The plan (tiles, blocks, splits). */
  readonly plan: AttentionPlan;
  /** Query blocks (blocks of ≤ `plan.rowsPerBlock` rows of one sequence); times the head blocks, the workgroups. */
  readonly queryBlocks: number;
  /** Scalars. */
  readonly scalars: AttentionScalars;
  /** Ring: the first query's position (0 for paged). */
  readonly firstPosition: number;
  /** Ring: the first key still in the ring for a step at a position (0 for paged). */
  readonly firstKeyAt: (position: number) => number;
  /** Queries `[rows, heads · headDimensions]`. */
  readonly queries: GpuTensor;
  /** Key storage. */
  readonly keys: GpuTensor;
  /** Value storage (same dtype). */
  readonly values: GpuTensor;
  /** Paged: the batch's positions and slots, sequence starts and page tables (in that order). */
  readonly pageBindings?: readonly BufferBinding[];
}

/**
 * Records the attention kernel for `call` (and its combine pass when the plan splits the keys) and returns the output
 * `[rows, heads · headDimensions]`. A ring call says how to rebuild its uniforms for another position (captured
 * steps); a paged call's uniforms depend on no position.
 */
export function recordAttention(runtime: GpuRuntime, call: AttentionCall): GpuTensor {
  const { plan, scalars, queries, keys, values, addressing } = call;
  const { rows, heads, headDimensions } = scalars;
  const elements = keys.dtype;
  if (elements !== 'f32' && elements !== 'f16' && elements !== 'q8_0') {
    throw new StrataError('DTYPE_MISMATCH', `attention: the KV cache must hold f32, f16 or q8_0, got ${keys.dtype}.`);
  }
  if (elements === 'q8_0' && headDimensions % Q8_0_BLOCK_SIZE !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: a q8_0 cache needs heads of a multiple of ${Q8_0_BLOCK_SIZE} dimensions (its blocks lie within a head), got ${headDimensions}; use an f16 or f32 cache.`,
      { details: { headDimensions } },
    );
  }
  const output = runtime.allocate('f32', queries.shape);
  if (rows === 0) return output;
  const softcap = scalars.softcap > 0;
  const blocks = call.queryBlocks * (heads / plan.headsPerBlock);
  const uniforms = (capacityOrHeadSize: number, position = call.firstPosition) =>
    new Uniforms()
      .u(rows)
      .u(heads)
      .u(scalars.keyValueHeads)
      .u(position)
      .u(capacityOrHeadSize)
      .u(scalars.window)
      .u(call.firstKeyAt(position))
      .f(scalars.scale)
      .f(scalars.softcap)
      .u(plan.splits)
      .u(scalars.sequences)
      .u(scalars.tableWidth)
      .u(scalars.pageSize).words;
  const split = plan.splits > 1;
  const partialValues = split ? runtime.allocate('f32', [rows * heads * plan.splits, headDimensions]) : undefined;
  const partialState = split ? runtime.allocate('f32', [rows * heads * plan.splits, 2]) : undefined;
  const paged = addressing === 'paged';
  const subgroups = runtime.features.subgroups;
  const position: DispatchCommand['position'] = paged
    ? undefined
    : { firstPosition: call.firstPosition, uniforms: (at) => uniforms(scalars.capacity, at) };
  runtime.dispatch({
    shader: {
      key: `attention:${addressing}:hd=${headDimensions}:r=${plan.rowsPerBlock}:h=${plan.headsPerBlock}:bc=${plan.keyTile}:wg=${plan.workgroupSize}:split=${split ? 1 : 0}:cap=${softcap ? 1 : 0}:kv=${keys.dtype}:sg=${subgroups ? 1 : 0}`,
      storage: ['read', 'read', 'read', 'write', 'write', ...(paged ? (['read', 'read', 'read'] as const) : [])],
      code: () => attentionShader(headDimensions, plan, softcap, elements, addressing, subgroups),
    },
    uniforms: uniforms(scalars.capacity),
    ...(position === undefined ? {} : { position }),
    buffers: [
      { tracked: queries.tracked },
      { tracked: keys.tracked },
      { tracked: values.tracked },
      { tracked: (partialValues ?? output).tracked },
      { tracked: partialState?.tracked ?? runtime.emptyBuffer },
      ...(call.pageBindings ?? []),
    ],
    workgroups: linearGrid(blocks * plan.splits),
  });
  if (partialValues !== undefined && partialState !== undefined) {
    combineSplits(
      runtime,
      { partialValues, partialState, output },
      { rows, heads, headDimensions, splits: plan.splits },
    );
  }
  return output;
}
