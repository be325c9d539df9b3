import type { AttentionOptions } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import { DEFAULT_DECODE_TARGET_WORKGROUPS, MAX_DECODE_KEYS_PER_SPLIT } from '../../runtime/tuning.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { decodeParamsWgsl, decodeUniforms } from './decode-params.js';
import { type CacheElements, keyPieceWgsl, valuePieceWgsl, WGSL_QUADS } from './decode-cache-reads.js';
import { WGSL_Q8_READ } from './q8-cache-wgsl.js';

/**
 * Attention of ONE query row (a decode step) over an f32, f16 or q8_0 cache, built to read the cache at the memory rate:
 *
 * - a workgroup takes one key/value head, the query heads of its GQA group (up to {@link MAX_GROUP}) and one split of
 *   the keys (at most `MAX_DECODE_KEYS_PER_SPLIT`, at least `DecodePlan.minKeysPerSplit` while there are keys enough);
 *   splits are combined by the combine pass below;
 * - scores: each invocation takes whole keys and computes their dot products with every query head of the group (the
 *   queries sit in workgroup memory, read as broadcasts), the key row read in 16-byte pieces (q8_0: 16 quants, one
 *   block's, and the block's scale, which multiplies the piece's dot product);
 * - softmax over the split's scores in workgroup memory (two tree reductions per head);
 * - values: each invocation takes 4 dimensions of a value row (a 16-byte piece for f32; neighbours read neighbouring
 *   pieces) and a slot of the keys (every `HD / 4`-th invocation shares a slot), loads the pieces of four of its keys
 *   before it uses them (four loads in flight, not one: at long contexts a split holds hundreds of keys), and
 *   accumulates them for every head of the group at once, so each value is read once; the slots' sums meet in
 *   workgroup memory, one component of the pieces at a time.
 *
 * Everything about the position is in the uniforms (first visible key, last key): a captured step replays it at every
 * position with the same workgroup count.
 */

/** Most query heads per workgroup (larger GQA groups take several workgroups per key/value head). */
export const MAX_GROUP = 8;
/** Invocations per workgroup. */
const WORKGROUP = 256;

/** How {@link dispatchDecodeAttention} runs a call. */
export interface DecodePlan {
  /** Query heads per workgroup. */
  readonly group: number;
  /** Workgroups per key/value head (GQA groups larger than {@link MAX_GROUP}). */
  readonly headBlocks: number;
  /** Most keys per workgroup (the score buffer's size). */
  readonly keysPerSplit: number;
  /** Key splits planned (1: the kernel writes the output itself); a step runs those that hold keys. */
  readonly splits: number;
  /**
   * Fewest keys per split (`WebGpuTuning.decodeAttentionMinKeysPerSplit`): a step over `n` keys runs
   * `min(⌈n / minKeysPerSplit⌉, splits)` of them. At most `keysPerSplit`.
   */
  readonly minKeysPerSplit: number;
}

/**
 * The plan for one query row over `keys` visible keys (planned from the capacity while capturing: see attention.ts), or
 * undefined when the kernel does not apply (several rows, a head size it does not read, too little workgroup memory
 * for a score buffer of `minKeysPerSplit` keys). Workgroup memory: the group's queries, its scores and one reduction
 * buffer, 4 bytes each.
 */
export function planDecodeAttention(
  shape: { rows: number; heads: number; keyValueHeads: number; headDimensions: number; keys: number },
  workgroupStorageBytes: number,
  minKeysPerSplit: number,
  targetWorkgroups: number = DEFAULT_DECODE_TARGET_WORKGROUPS,
): DecodePlan | undefined {
  const { rows, heads, keyValueHeads, headDimensions: HD, keys } = shape;
  if (rows !== 1 || HD % 8 !== 0 || HD > WORKGROUP) return undefined;
  const groupSize = heads / keyValueHeads;
  const group = Math.min(groupSize, MAX_GROUP);
  const headBlocks = Math.ceil(groupSize / group);
  let keysPerSplit = MAX_DECODE_KEYS_PER_SPLIT;
  const bytes = (perSplit: number) => 4 * (group * HD + group * perSplit + group * WORKGROUP + 2 * group);
  // Halved while it stays at least minKeysPerSplit: a split never holds more keys than its score buffer.
  while (bytes(keysPerSplit) > workgroupStorageBytes && keysPerSplit / 2 >= minKeysPerSplit) keysPerSplit /= 2;
  if (bytes(keysPerSplit) > workgroupStorageBytes || keysPerSplit < minKeysPerSplit) return undefined;
  const blocks = keyValueHeads * headBlocks;
  const bySize = Math.ceil(keys / keysPerSplit);
  const byOccupancy = Math.min(Math.ceil(targetWorkgroups / blocks), Math.ceil(keys / Math.min(16, minKeysPerSplit)));
  return { group, headBlocks, keysPerSplit, splits: Math.max(1, bySize, byOccupancy), minKeysPerSplit };
}

function decodeShader(
  headDimensions: number,
  plan: DecodePlan,
  elements: CacheElements,
  softcap: boolean,
  split: boolean,
): string {
  const halves = elements === 'f16';
  const quantized = elements === 'q8_0';
  const HD = headDimensions;
  const G = plan.group;
  const KEYS = plan.keysPerSplit;
  // The value pass: an invocation per 4 dimensions of a value row (a piece) and key slot; the keys of a split are
  // dealt to the slots.
  const valuePieces = HD / 4;
  const keySlots = Math.max(1, Math.floor(WORKGROUP / valuePieces));
  // A key row as pieces of 16 bytes: 16 quants (q8_0), 8 halves (f16) or 4 floats (f32) each.
  const perPiece = quantized ? 16 : halves ? 8 : 4;
  const pieces = HD / perPiece;
  const keyPiece = keyPieceWgsl(elements);
  // The queries sit in workgroup memory as vec4s: vec4 `h · HD/4 + piece · perPiece/4 (+ 1 …)`.
  const vectors = perPiece / 4;
  const dots = Array.from({ length: G }, (_, h) => {
    const terms = Array.from(
      { length: vectors },
      (_, v) => `dot(k${v}, query[${(h * HD) / 4}u + piece * ${vectors}u + ${v}u])`,
    ).join(' + ');
    return quantized ? `      dot${h} += d * (${terms});` : `      dot${h} += ${terms};`;
  }).join('\n');
  const heads = Array.from({ length: G }, (_, h) => h);
  return /* wgsl */ `${decodeParamsWgsl(plan.minKeysPerSplit)}
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<${elements === 'f32' ? 'vec4<f32>' : 'vec4<u32>'}>;
@group(0) @binding(3) var<storage, read> values: array<${elements === 'f32' ? 'vec4<f32>' : 'u32'}>;
${quantized ? `${WGSL_Q8_READ}${WGSL_QUADS}` : ''}
@group(0) @binding(4) var<storage, read_write> destination: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial_state: array<f32>;
const HD = ${HD}u;
const G = ${G}u;
const WG = ${WORKGROUP}u;
const KEYS = ${KEYS}u;
const PIECES = ${valuePieces}u;
const SLOTS = ${keySlots}u;
const MASKED = -3.0e38;
var<workgroup> query: array<vec4<f32>, ${(G * HD) / 4}>;
var<workgroup> scores: array<f32, ${G * KEYS}>;
// The reductions' buffer, reused for the value pass's partial sums (a component of every piece and slot per head).
var<workgroup> reduce: array<f32, ${G * WORKGROUP}>;
var<workgroup> head_max: array<f32, ${G}>;
var<workgroup> head_sum: array<f32, ${G}>;
${WGSL_LINEAR_GROUP}

// Tree reduction of reduce[h * WG + ...] for every head; maximum or sum.
fn reduce_all(li: u32, maximum: bool) {
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (li < stride) {
      for (var h = 0u; h < G; h++) {
        let a = reduce[h * WG + li];
        let b = reduce[h * WG + li + stride];
        reduce[h * WG + li] = select(a + b, max(a, b), maximum);
      }
    }
  }
  workgroupBarrier();
}

// Dimensions 4p … 4p + 3 of the value row of key \`key\` of the split that starts at key \`start\`.
fn value_piece(key: u32, start: u32, kv_head: u32, p: u32) -> vec4<f32> {
  let ring = (start + key) % params.capacity;
  let width = params.key_value_heads * HD;
  let row = ring * width + kv_head * HD + p * 4u;
  ${valuePieceWgsl(elements)}
}

// Writes dimension d of head \`head\` (the group's h-th): the normalized output, or the split's partial state.
fn store_value(head: u32, h: u32, d: u32, split: u32, total: f32) {
  ${
    split
      ? `let state = head * params.splits + split;
  destination[state * HD + d] = total;
  if (d == 0u) { partial_state[state * 2u] = head_max[h]; partial_state[state * 2u + 1u] = head_sum[h]; }`
      : `let sum = head_sum[h];
  destination[head * HD + d] = select(0.0, total / sum, sum > 0.0);`
  }
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let linear = linear_group(group, groups);
  let split = linear % params.splits;
  let block = linear / params.splits;
  let group_size = params.heads / params.key_value_heads;
  let head_blocks = (group_size + G - 1u) / G;
  let kv_head = block / head_blocks;
  if (kv_head >= params.key_value_heads) { return; }
  let first_head = kv_head * group_size + (block % head_blocks) * G;
  let head_count = min(G, kv_head * group_size + group_size - first_head);
  // This split's share of the visible keys.
  let visible = visible_keys();
  let splits = visible.splits;
  if (split >= splits) { return; }
  let share = (visible.count + splits - 1u) / splits;
  let start = visible.first + split * share;
  let count = select(0u, min(share, params.position + 1u - start), start <= params.position);

  for (var index = li; index < G * HD; index += WG) {
    let h = index / HD;
    var value = 0.0;
    if (h < head_count) { value = queries[(first_head + h) * HD + index % HD] * params.scale; }
    query[index / 4u][index % 4u] = value;
  }
  workgroupBarrier();

  // Scores, and each invocation's running maximum per head.
  var local_max: array<f32, ${G}>;
  for (var h = 0u; h < G; h++) { local_max[h] = MASKED; }
  let width = params.key_value_heads * HD;
  for (var key = li; key < count; key += WG) {
    let ring = (start + key) % params.capacity;
    let row = ring * width + kv_head * HD;
${Array.from({ length: G }, (_, h) => `    var dot${h} = 0.0;`).join('\n')}
    for (var piece = 0u; piece < ${pieces}u; piece++) {
      ${keyPiece}
${dots}
    }
${Array.from(
  { length: G },
  (_, h) => `    {
      var score = dot${h};
      ${softcap ? 'score = params.softcap * tanh(clamp(score / params.softcap, -15.0, 15.0));' : ''}
      scores[${h}u * KEYS + key] = score;
      local_max[${h}] = max(local_max[${h}], score);
    }`,
).join('\n')}
  }
  for (var h = 0u; h < G; h++) { reduce[h * WG + li] = local_max[h]; }
  reduce_all(li, true);
  if (li < G) { head_max[li] = reduce[li * WG]; }
  workgroupBarrier();
  var local_sum: array<f32, ${G}>;
  for (var h = 0u; h < G; h++) { local_sum[h] = 0.0; }
  for (var key = li; key < count; key += WG) {
    for (var h = 0u; h < G; h++) {
      let weight = exp(scores[h * KEYS + key] - head_max[h]);
      scores[h * KEYS + key] = weight;
      local_sum[h] += weight;
    }
  }
  for (var h = 0u; h < G; h++) { reduce[h * WG + li] = local_sum[h]; }
  reduce_all(li, false);
  if (li < G) { head_sum[li] = reduce[li * WG]; }
  workgroupBarrier();

  // Values: piece p (dimensions 4p … 4p + 3) of the keys slot, slot + SLOTS, …, four keys' pieces loaded at a time;
  // every head at once.
  let p = li % PIECES;
  let slot = li / PIECES;
${heads.map((h) => `  var acc${h} = vec4<f32>();`).join('\n')}
  if (slot < SLOTS) {
    var key = slot;
    for (; key + 3u * SLOTS < count; key += 4u * SLOTS) {
${[0, 1, 2, 3].map((u) => `      let v${u} = value_piece(key + ${u}u * SLOTS, start, kv_head, p);`).join('\n')}
${heads
  .map(
    (h) =>
      `      acc${h} += scores[${h * KEYS}u + key] * v0 + scores[${h * KEYS}u + key + SLOTS] * v1 + scores[${h * KEYS}u + key + 2u * SLOTS] * v2 + scores[${h * KEYS}u + key + 3u * SLOTS] * v3;`,
  )
  .join('\n')}
    }
    for (; key < count; key += SLOTS) {
      let v0 = value_piece(key, start, kv_head, p);
${heads.map((h) => `      acc${h} += scores[${h * KEYS}u + key] * v0;`).join('\n')}
    }
  }
  // The slots' sums, one component of the pieces at a time through the reduction buffer.
${[0, 1, 2, 3]
  .map(
    (component) => `  workgroupBarrier();
${heads.map((h) => `  reduce[${h}u * WG + li] = acc${h}.${'xyzw'[component]};`).join('\n')}
  workgroupBarrier();
  for (var index = li; index < head_count * PIECES; index += WG) {
    let h = index / PIECES;
    let piece = index % PIECES;
    var total = 0.0;
    for (var s = 0u; s < SLOTS; s++) { total += reduce[h * WG + s * PIECES + piece]; }
    store_value(first_head + h, h, piece * 4u + ${component}u, split, total);
  }`,
  )
  .join('\n')}
}`;
}

/**
 * The combine pass of the decode kernel: one invocation per output element merges the softmax states of the splits
 * that held keys at this position (the same count the decode kernel derived from the same uniforms), four at a time.
 */
function combineShader(headDimensions: number, minKeysPerSplit: number): string {
  return /* wgsl */ `${decodeParamsWgsl(minKeysPerSplit)}
@group(0) @binding(1) var<storage, read> partial_values: array<f32>;
@group(0) @binding(2) var<storage, read> partial_state: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
const HD = ${headDimensions}u;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * 256u + li;
  if (index >= params.heads * HD) { return; }
  let splits = visible_keys().splits;
  let base = (index / HD) * params.splits;
  var best = -3.0e38;
  for (var split = 0u; split < splits; split++) {
    let state = partial_state[base + split];
    if (state.y > 0.0) { best = max(best, state.x); }
  }
  var numerator = 0.0;
  var denominator = 0.0;
  for (var split = 0u; split < splits; split++) {
    let state = partial_state[base + split];
    let factor = select(0.0, exp(state.x - best), state.y > 0.0);
    numerator += partial_values[(base + split) * HD + index % HD] * factor;
    denominator += state.y * factor;
  }
  destination[index] = select(0.0, numerator / denominator, denominator > 0.0);
}`;
}

/**
 * Dispatches the decode kernel for `query` `[1, heads · headDimensions]` into `target` (the output when `splits` is 1,
 * else the partial values `[heads · splits, headDimensions]` with `partialState` `[heads · splits, 2]`, in the layout of
 * attention.ts's combine pass).
 */
export function dispatchDecodeAttention(
  runtime: GpuRuntime,
  tensors: { query: GpuTensor; keys: GpuTensor; values: GpuTensor; target: GpuTensor; partialState?: GpuTensor },
  options: AttentionOptions,
  capacity: number,
  plan: DecodePlan,
): void {
  const { keyValueHeads, headDimensions, firstPosition } = options;
  const { group, headBlocks, splits, keysPerSplit } = plan;
  const elements: CacheElements = tensors.keys.dtype === 'q8_0' ? 'q8_0' : tensors.keys.dtype === 'f16' ? 'f16' : 'f32';
  const softcap = options.softcap !== undefined && options.softcap > 0;
  const split = splits > 1;
  runtime.dispatch({
    shader: {
      key: `attention-decode:hd=${headDimensions}:g=${group}:k=${keysPerSplit}:min=${plan.minKeysPerSplit}:kv=${elements}:cap=${softcap ? 1 : 0}:split=${split ? 1 : 0}`,
      storage: ['read', 'read', 'read', 'write', 'write'],
      code: () => decodeShader(headDimensions, plan, elements, softcap, split),
    },
    uniforms: decodeUniforms(options, capacity, splits, firstPosition),
    position: { firstPosition, uniforms: (position) => decodeUniforms(options, capacity, splits, position) },
    buffers: [
      { tracked: tensors.query.tracked },
      { tracked: tensors.keys.tracked },
      { tracked: tensors.values.tracked },
      { tracked: tensors.target.tracked },
      { tracked: tensors.partialState?.tracked ?? runtime.emptyBuffer },
    ],
    workgroups: linearGrid(keyValueHeads * headBlocks * splits),
  });
}

/** Merges the splits of {@link dispatchDecodeAttention} into `output` `[1, heads · headDimensions]`. */
export function dispatchDecodeCombine(
  runtime: GpuRuntime,
  tensors: { partialValues: GpuTensor; partialState: GpuTensor; output: GpuTensor },
  options: AttentionOptions,
  capacity: number,
  plan: DecodePlan,
): void {
  const { heads, headDimensions, firstPosition } = options;
  runtime.dispatch({
    shader: {
      key: `attention-decode-combine:hd=${headDimensions}:min=${plan.minKeysPerSplit}`,
      storage: ['read', 'read', 'write'],
      code: () => combineShader(headDimensions, plan.minKeysPerSplit),
    },
    uniforms: decodeUniforms(options, capacity, plan.splits, firstPosition),
    position: { firstPosition, uniforms: (position) => decodeUniforms(options, capacity, plan.splits, position) },
    buffers: [
      { tracked: tensors.partialValues.tracked },
      { tracked: tensors.partialState.tracked },
      { tracked: tensors.output.tracked },
    ],
    workgroups: linearGrid(Math.ceil((heads * headDimensions) / 256)),
  });
}
