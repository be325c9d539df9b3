import { type AttentionOptions, type KeyValueCache, Q8_0_BLOCK_SIZE, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { WGSL_Q8_READ } from './q8-cache-wgsl.js';
import { type AttentionPlan, type AttentionTuning, DEFAULT_ATTENTION_TUNING, planAttention } from './attention-plan.js';
import { dispatchDecodeAttention, dispatchDecodeCombine, planDecodeAttention } from './decode-attention.js';

const PARAMS = /* wgsl */ `
struct Params {
  rows: u32, heads: u32, key_value_heads: u32, first_position: u32, capacity: u32,
  window: u32, first_key: u32, scale: f32, softcap: f32, splits: u32,
}
@group(0) @binding(0) var<uniform> params: Params;`;

/** WGSL: element `index` (0 or 1) of a word of two halves (an f16 KV cache; rows start on a word). */
const HALF_READER = /* wgsl */ `
fn element_of(word: u32, index: u32) -> f32 { return unpack2x16float(word)[index]; }`;

/** How the cache tensors hold keys and values: f32, f16 (two halves per word) or q8_0 (`WGSL_Q8_READ`). */
type CacheElements = 'f32' | 'f16' | 'q8_0';

/** WGSL: the value of element `column` of ring row `ring` of cache tensor `name`. */
function cacheElementWgsl(elements: CacheElements, name: string, ring: string, column: string): string {
  if (elements === 'f16') return `element_of(${name}[(${ring} * width + ${column}) >> 1u], ${column} & 1u)`;
  if (elements === 'f32') return `${name}[${ring} * width + ${column}]`;
  return `q8_element(${name}[(${ring} * width + ${column}) >> 2u], ${column}, ${name}[scale_base + ${ring} * pairs + (${column} >> 6u)])`;
}

function attentionShader(
  headDimensions: number,
  plan: AttentionPlan,
  softcap: boolean,
  elements: CacheElements,
): string {
  const { slots: S, keyTile: BC, workgroupSize: WG, rowsPerBlock: R, headsPerBlock: HB } = plan;
  const HD = headDimensions;
  const split = plan.splits > 1;
  const accumulators = Math.ceil((S * HD) / WG);
  // Tile loads: batches of LOAD_BATCH independent loads in straight-line code, so they are in flight together (a plain
  // strided loop issues one global load per iteration and waits on each). Tile rows are padded to HD + 1 floats so that
  // the score loop, where neighbouring invocations read neighbouring keys, hits distinct memory banks.
  const loads = Math.ceil((BC * HD) / WG);
  const batch = Math.min(8, loads);
  const load = (name: string) => {
    const lanes = Array.from({ length: batch }, (_, lane) => lane);
    return /* wgsl */ `
fn load_${name}(first_key: u32, last_key: u32, head_offset: u32, li: u32) {
  let width = params.key_value_heads * HD;
${elements === 'q8_0' ? '  let scale_base = (params.capacity * width) >> 2u;\n  let pairs = (width + 63u) / 64u;' : ''}
  for (var base = 0u; base < ${loads}u; base += ${batch}u) {
${lanes
  .map(
    (lane) => `    let i${lane} = li + (base + ${lane}u) * WG;
    let k${lane} = first_key + i${lane} / HD;
    var v${lane} = 0.0;
    if (i${lane} < BC * HD && k${lane} <= last_key) { v${lane} = ${cacheElementWgsl(
      elements,
      name,
      `(k${lane} % params.capacity)`,
      `(head_offset + i${lane} % HD)`,
    )}; }`,
  )
  .join('\n')}
${lanes.map((lane) => `    if (i${lane} < BC * HD) { key_value_tile[(i${lane} / HD) * HDP + i${lane} % HD] = v${lane}; }`).join('\n')}
  }
}`;
  };
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<${elements === 'f32' ? 'f32' : 'u32'}>;
@group(0) @binding(3) var<storage, read> values: array<${elements === 'f32' ? 'f32' : 'u32'}>;
${elements === 'f16' ? HALF_READER : elements === 'q8_0' ? WGSL_Q8_READ : ''}
@group(0) @binding(4) var<storage, read_write> destination: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial_state: array<f32>;
const HD = ${HD}u;
const HDP = ${HD + 1}u;
const S = ${S}u;
const R = ${R}u;
const HB = ${HB}u;
const BC = ${BC}u;
const WG = ${WG}u;
const MASKED = -3.0e38;
var<workgroup> query_tile: array<f32, ${S * HD}>;
var<workgroup> key_value_tile: array<f32, ${BC * (HD + 1)}>;
var<workgroup> scores: array<f32, ${S * BC}>;
var<workgroup> slot_max: array<f32, ${S}>;
var<workgroup> slot_sum: array<f32, ${S}>;
var<workgroup> slot_alpha: array<f32, ${S}>;
${WGSL_LINEAR_GROUP}
${load('keys')}
${load('values')}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let linear = linear_group(group, groups);
  let split = linear % params.splits;
  let block = linear / params.splits;
  let head_blocks = params.heads / HB;
  let head_block = block % head_blocks;
  let first_row = (block / head_blocks) * R;
  if (first_row >= params.rows) { return; }
  let first_head = head_block * HB;
  let head_offset = (first_head / (params.heads / params.key_value_heads)) * HD;
  let query_width = params.heads * HD;
  let row_count = min(R, params.rows - first_row);
  // Keys of this block: up to its last query; from its first query's window start; then this split's share.
  let first_query = params.first_position + first_row;
  var last_key = first_query + row_count - 1u;
  var first_key = params.first_key;
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
    query_tile[index] = value;
  }
  for (var slot = li; slot < S; slot += WG) { slot_max[slot] = MASKED; slot_sum[slot] = 0.0; }
  var accumulator: array<f32, ${accumulators}>;

  for (var tile_start = first_key; tile_start <= last_key; tile_start += BC) {
    workgroupBarrier();
    load_keys(tile_start, last_key, head_offset, li);
    workgroupBarrier();
    for (var index = li; index < S * BC; index += WG) {
      let slot = index / BC;
      let key = tile_start + index % BC;
      let query_position = first_query + slot / HB;
      var score = MASKED;
      if (slot / HB < row_count && key <= query_position && key <= last_key &&
          (params.window == 0u || key + params.window > query_position)) {
        var dot = 0.0;
        for (var d = 0u; d < HD; d++) { dot += query_tile[slot * HD + d] * key_value_tile[(index % BC) * HDP + d]; }
        ${softcap ? 'dot = params.softcap * tanh(clamp(dot / params.softcap, -15.0, 15.0));' : ''}
        score = dot;
      }
      scores[index] = score;
    }
    workgroupBarrier();
    for (var slot = li; slot < S; slot += WG) {
      let previous = slot_max[slot];
      var best = previous;
      for (var column = 0u; column < BC; column++) { best = max(best, scores[slot * BC + column]); }
      var alpha = 1.0;
      if (previous > -1.0e38) { alpha = exp(previous - best); }
      var total = 0.0;
      for (var column = 0u; column < BC; column++) {
        let score = scores[slot * BC + column];
        var weight = 0.0;
        if (score > -1.0e38) { weight = exp(score - best); }
        scores[slot * BC + column] = weight;
        total += weight;
      }
      slot_max[slot] = best;
      slot_sum[slot] = slot_sum[slot] * alpha + total;
      slot_alpha[slot] = alpha;
    }
    workgroupBarrier();
    load_values(tile_start, last_key, head_offset, li);
    workgroupBarrier();
    for (var item = 0u; item < ${accumulators}u; item++) {
      let index = li + item * WG;
      if (index < S * HD) {
        let slot = index / HD;
        let d = index % HD;
        var sum = accumulator[item] * slot_alpha[slot];
        for (var column = 0u; column < BC; column++) { sum += scores[slot * BC + column] * key_value_tile[column * HDP + d]; }
        accumulator[item] = sum;
      }
    }
  }
  workgroupBarrier();
  for (var item = 0u; item < ${accumulators}u; item++) {
    let index = li + item * WG;
    let slot = index / HD;
    if (index < S * HD && slot / HB < row_count) {
      let row = first_row + slot / HB;
      let head = first_head + slot % HB;
      ${
        split
          ? `let state = (row * params.heads + head) * params.splits + split;
      destination[state * HD + index % HD] = accumulator[item];
      if (index % HD == 0u) { partial_state[state * 2u] = slot_max[slot]; partial_state[state * 2u + 1u] = slot_sum[slot]; }`
          : `let total = slot_sum[slot];
      destination[row * query_width + head * HD + index % HD] = select(0.0, accumulator[item] / total, total > 0.0);`
      }
    }
  }
}`;
}

const COMBINE_SHADER = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> partial_values: array<f32>;
@group(0) @binding(2) var<storage, read> partial_state: array<f32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let head_dimensions = params.capacity; // the combine pass passes the head size here
  let index = linear_group(group, groups) * 256u + li;
  if (index >= params.rows * params.heads * head_dimensions) { return; }
  let state = index / head_dimensions;
  var best = -3.0e38;
  for (var split = 0u; split < params.splits; split++) {
    let base = (state * params.splits + split) * 2u;
    if (partial_state[base + 1u] > 0.0) { best = max(best, partial_state[base]); }
  }
  var numerator = 0.0;
  var denominator = 0.0;
  for (var split = 0u; split < params.splits; split++) {
    let base = state * params.splits + split;
    let total = partial_state[base * 2u + 1u];
    if (total > 0.0) {
      let factor = exp(partial_state[base * 2u] - best);
      numerator += partial_values[base * head_dimensions + index % head_dimensions] * factor;
      denominator += total * factor;
    }
  }
  destination[index] = select(0.0, numerator / denominator, denominator > 0.0);
}`;

/**
 * Causal attention of `queries` `[rows, heads · headDimensions]` over the cache, which already holds these rows' keys
 * and values (ring rows `position mod capacity`): one pass over the keys with an online softmax (flash attention).
 * Each workgroup shares its key/value tiles among several query rows and the query heads of one GQA group; when that
 * leaves the GPU idle (decode), the keys are split over workgroups and a second pass combines their softmax states.
 */
export function attention(
  runtime: GpuRuntime,
  queries: Tensor,
  cache: KeyValueCache,
  options: AttentionOptions,
  tuning: AttentionTuning = DEFAULT_ATTENTION_TUNING,
): GpuTensor {
  const query = runtime.tensor(queries, 'f32', 'queries');
  const keys = runtime.tensor(cache.keys, undefined, 'key cache');
  const values = runtime.tensor(cache.values, keys.dtype, 'value cache');
  const elements = keys.dtype;
  if (elements !== 'f32' && elements !== 'f16' && elements !== 'q8_0') {
    throw new StrataError('DTYPE_MISMATCH', `attention: the KV cache must hold f32, f16 or q8_0, got ${keys.dtype}.`);
  }
  const { heads, keyValueHeads, headDimensions, firstPosition } = options;
  if (elements === 'q8_0' && headDimensions % Q8_0_BLOCK_SIZE !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: a q8_0 cache needs heads of a multiple of ${Q8_0_BLOCK_SIZE} dimensions (its blocks lie within a head), got ${headDimensions}; use an f16 or f32 cache.`,
      { details: { headDimensions } },
    );
  }
  const [rows = 0, columns = 0] = query.shape;
  const [capacity = 0, cacheWidth = 0] = keys.shape;
  if (
    query.shape.length !== 2 ||
    !Number.isInteger(heads) ||
    !Number.isInteger(keyValueHeads) ||
    columns !== heads * headDimensions ||
    keyValueHeads <= 0 ||
    heads % keyValueHeads !== 0 ||
    keys.shape.length !== 2 ||
    cacheWidth !== keyValueHeads * headDimensions ||
    values.shape[0] !== capacity ||
    values.shape[1] !== cacheWidth ||
    capacity === 0
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: queries [${query.shape.join(', ')}] with ${heads} heads of ${headDimensions} and ${keyValueHeads} key/value heads do not fit the cache [${keys.shape.join(', ')}].`,
    );
  }
  const output = runtime.allocate('f32', query.shape);
  if (rows === 0) return output;
  const firstKeyAt = (position: number) => Math.max(0, position + rows - capacity);
  // A captured step replays at every position: its split count (a workgroup count) must not depend on the position,
  // so it is planned for the most keys the cache can show; splits past the keys of a step find no work.
  const capturing = runtime.recorder.capture !== undefined;
  const visibleKeys = Math.min(
    capturing ? capacity : firstPosition + rows - firstKeyAt(firstPosition),
    options.window ?? Number.POSITIVE_INFINITY,
  );
  // The one-row kernel reads every cache type (f32, f16, q8_0).
  const decode = planDecodeAttention(
    { rows, heads, keyValueHeads, headDimensions, keys: visibleKeys },
    runtime.limits.maxComputeWorkgroupStorageSize,
  );
  if (decode !== undefined) {
    const partialValues =
      decode.splits > 1 ? runtime.allocate('f32', [heads * decode.splits, headDimensions]) : undefined;
    const partialState = decode.splits > 1 ? runtime.allocate('f32', [heads * decode.splits, 2]) : undefined;
    const tensors = { query, keys, values, target: partialValues ?? output };
    dispatchDecodeAttention(
      runtime,
      partialState === undefined ? tensors : { ...tensors, partialState },
      options,
      capacity,
      decode,
    );
    if (partialValues !== undefined && partialState !== undefined) {
      dispatchDecodeCombine(runtime, { partialValues, partialState, output }, options, capacity, decode);
      runtime.release(partialValues);
      runtime.release(partialState);
    }
    return output;
  }
  const plan = planAttention(
    { rows, heads, keyValueHeads, headDimensions, keys: visibleKeys },
    runtime.limits.maxComputeWorkgroupStorageSize,
    tuning,
  );
  const softcap = options.softcap !== undefined && options.softcap > 0;
  const blocks = Math.ceil(rows / plan.rowsPerBlock) * (heads / plan.headsPerBlock);
  const uniforms = (capacityOrHeadSize: number, position = firstPosition) =>
    new Uniforms()
      .u(rows)
      .u(heads)
      .u(keyValueHeads)
      .u(position)
      .u(capacityOrHeadSize)
      .u(options.window ?? 0)
      .u(firstKeyAt(position))
      .f(options.scale)
      .f(softcap ? options.softcap! : 0)
      .u(plan.splits).words;
  const split = plan.splits > 1;
  const partialValues = split ? runtime.allocate('f32', [rows * heads * plan.splits, headDimensions]) : undefined;
  const partialState = split ? runtime.allocate('f32', [rows * heads * plan.splits, 2]) : undefined;
  runtime.dispatch({
    shader: {
      key: `attention:hd=${headDimensions}:r=${plan.rowsPerBlock}:h=${plan.headsPerBlock}:bc=${plan.keyTile}:wg=${plan.workgroupSize}:split=${split ? 1 : 0}:cap=${softcap ? 1 : 0}:kv=${keys.dtype}`,
      storage: ['read', 'read', 'read', 'write', 'write'],
      code: () => attentionShader(headDimensions, plan, softcap, elements),
    },
    uniforms: uniforms(capacity),
    position: { firstPosition, uniforms: (position) => uniforms(capacity, position) },
    buffers: [
      { tracked: query.tracked },
      { tracked: keys.tracked },
      { tracked: values.tracked },
      { tracked: (partialValues ?? output).tracked },
      { tracked: partialState?.tracked ?? runtime.emptyBuffer },
    ],
    workgroups: linearGrid(blocks * plan.splits),
  });
  if (partialValues !== undefined && partialState !== undefined) {
    combine(runtime, { partialValues, partialState, output }, { rows, heads, headDimensions, splits: plan.splits });
  }
  return output;
}

/**
 * The second pass of split attention: merges the softmax states of `splits` partial results per query head into the
 * output, then hands the partial buffers back to the pool. Uniforms in the attention kernel's layout (the head size in
 * the capacity slot).
 */
function combine(
  runtime: GpuRuntime,
  tensors: { partialValues: GpuTensor; partialState: GpuTensor; output: GpuTensor },
  shape: { rows: number; heads: number; headDimensions: number; splits: number },
): void {
  const { partialValues, partialState, output } = tensors;
  const { rows, heads, headDimensions, splits } = shape;
  runtime.dispatch({
    shader: { key: 'attention-combine', storage: ['read', 'read', 'write'], code: () => COMBINE_SHADER },
    uniforms: new Uniforms().u(rows).u(heads).u(0).u(0).u(headDimensions).u(0).u(0).f(0).f(0).u(splits).words,
    buffers: [{ tracked: partialValues.tracked }, { tracked: partialState.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil((rows * heads * headDimensions) / 256)),
  });
  runtime.release(partialValues);
  runtime.release(partialState);
}
