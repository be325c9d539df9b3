import type { SamplingParameters } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, type StorageAccess, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { workgroupReduction } from '../wgsl/reduce.js';
import { DRAW_FROM_CANDIDATES, FINITE_FLOOR, KEY_OF_WGSL, SORT_CANDIDATES, WORKGROUP } from './sampling-shader.js';
import { workgroupScan } from './workgroup-scan.js';

// Top-k of `sampleToken` for k up to TOP_K_BOUND, over many workgroups (the one-workgroup candidates kernel walked
// the whole vocabulary four times). Rank order is the CPU reference's: higher score first, then lower id.
// - Level 0: one workgroup per slice of 2,048 scores keeps its k best (score key, id) entries: a radix selection of
//   the k-th largest key (8 bits a round, a workgroup histogram and a scan over its bins), then a compaction in
//   position order that takes every entry above that key and the first entries at it (a scan of both counts).
// - Later levels: one workgroup merges FAN_IN lists of the level before (FAN_IN · k ≤ 2,048 entries) the same way.
// Every list keeps its entries in id order (compactions keep position order, and a level's inputs are its lists in
// slice order), so position order breaks ties as id order does. The last level has one workgroup: it sorts its k
// entries into rank order and draws with the candidates kernel's own walk (`draw_from_candidates`), so the token is
// the one that kernel draws whenever it decides, and the CPU reference's also where more than 1,024 tokens tie.
// Workgroup counts depend on the vocabulary only; nothing is read back between levels.

/** The largest top-k this path takes (a larger one keeps the candidates kernel or the selection). */
export const TOP_K_BOUND = 256;

/** Entries one workgroup takes. */
const SLICE = 2048;

/** Entries per invocation (the sampling kernels' {@link WORKGROUP} invocations per workgroup). */
const PER_INVOCATION = SLICE / WORKGROUP;

/** Lists of the level before that one workgroup of a later level merges. */
const FAN_IN = SLICE / TOP_K_BOUND;

/** Bindings from 1: scores, the lists read, the lists written, the sampling state, the chosen token. */
const STORAGE: StorageAccess[] = ['read', 'read', 'write', 'write', 'write'];

function topKWgsl(subgroups: boolean): string {
  const reduction = workgroupReduction(subgroups, WORKGROUP);
  const scan = workgroupScan(subgroups, WORKGROUP);
  return /* wgsl */ `${reduction.enable}
struct Params {
  count: u32, group_entries: u32, top_k: u32, from_scores: u32, last: u32, top_p: f32, min_p: f32, random: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> work: array<f32>;
@group(0) @binding(2) var<storage, read> lists_in: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> lists_out: array<vec2u>;
@group(0) @binding(4) var<storage, read_write> state: array<u32>;
@group(0) @binding(5) var<storage, read_write> destination: array<i32>;
const NONE = 0xffffffffu;
const FINITE_FLOOR = ${FINITE_FLOOR}u;
${KEY_OF_WGSL}
${WGSL_LINEAR_GROUP}
${scan.functions}
var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> finite_total: u32;
var<workgroup> radix_prefix: u32;
var<workgroup> radix_need: u32;
var<workgroup> candidate_keys: array<u32, ${TOP_K_BOUND}>;
var<workgroup> candidate_ids: array<u32, ${TOP_K_BOUND}>;
var<workgroup> candidate_weights: array<f32, ${TOP_K_BOUND}>;
${SORT_CANDIDATES}
// The walk's weights, computed ahead by one invocation each.
fn candidate_score(rank: u32) -> f32 { return work[candidate_ids[rank]]; }
fn candidate_weight(rank: u32, maximum: f32) -> f32 { return candidate_weights[rank]; }
${DRAW_FROM_CANDIDATES}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${reduction.builtins}) {
  let lane = ${scan.lane};
  let slice = linear_group(group, groups);
  if (slice >= (params.count + params.group_entries - 1u) / params.group_entries) { return; }
  // Entries lane·${PER_INVOCATION}… of the slice, in position order; key 0 marks no entry (banned, padding, past the end).
  let first = slice * params.group_entries + lane * ${PER_INVOCATION}u;
  let end = min(slice * params.group_entries + params.group_entries, params.count);
  var keys: array<u32, ${PER_INVOCATION}>;
  var ids: array<u32, ${PER_INVOCATION}>;
  for (var index = 0u; index < ${PER_INVOCATION}u; index++) {
    let position = first + index;
    var entry = vec2u(0u, NONE);
    if (position < end) {
      if (params.from_scores != 0u) { entry = vec2u(key_of(work[position]), position); } else { entry = lists_in[position]; }
    }
    keys[index] = select(0u, entry.x, entry.x >= FINITE_FLOOR);
    ids[index] = entry.y;
  }
  // The k-th largest key, 8 bits a round from the top; bin 255 − lane's count at or above it comes from a scan.
  var need = params.top_k;
  var kept = 0u;
  var prefix = 0u;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - round * 8u;
    let mask = select(0u, 0xffffffffu << (shift + 8u), round > 0u);
    atomicStore(&histogram[lane], 0u);
    workgroupBarrier();
    // Neighbouring scores mostly share the top digits: one atomic per run of equal digits.
    var run_digit = 0u;
    var run = 0u;
    for (var index = 0u; index < ${PER_INVOCATION}u; index++) {
      let key = keys[index];
      if (key != 0u && (key & mask) == prefix) {
        let digit = (key >> shift) & 255u;
        if (run > 0u && digit != run_digit) { atomicAdd(&histogram[run_digit], run); run = 0u; }
        run_digit = digit;
        run++;
      }
    }
    if (run > 0u) { atomicAdd(&histogram[run_digit], run); }
    workgroupBarrier();
    let inside = atomicLoad(&histogram[255u - lane]);
    let at_or_above = ${scan.call('inside')};
    if (round == 0u) {
      // Fewer entries than k: all of them.
      if (lane == 255u) { finite_total = at_or_above; }
      kept = min(need, workgroupUniformLoad(&finite_total));
      need = kept;
    }
    let above = at_or_above - inside;
    if (above < need && at_or_above >= need) {
      radix_prefix = prefix | ((255u - lane) << shift);
      radix_need = need - above;
    }
    prefix = workgroupUniformLoad(&radix_prefix);
    need = workgroupUniformLoad(&radix_need);
  }
  // Every entry above the threshold key, and the first \`need\` entries at it, in position order.
  let threshold = select(NONE, prefix, kept > 0u);
  var above_count = 0u;
  var tie_count = 0u;
  for (var index = 0u; index < ${PER_INVOCATION}u; index++) {
    let key = keys[index];
    above_count += select(0u, 1u, key != 0u && key > threshold);
    tie_count += select(0u, 1u, key != 0u && key == threshold);
  }
  let counts = (above_count << 16u) | tie_count;
  let before = ${scan.call('counts')} - counts;
  var tie = before & 0xffffu;
  var slot = (before >> 16u) + min(tie, need);
  let output = slice * params.top_k;
  for (var index = 0u; index < ${PER_INVOCATION}u; index++) {
    let key = keys[index];
    var take = key != 0u && key > threshold;
    if (key != 0u && key == threshold) {
      take = tie < need;
      tie++;
    }
    if (take) {
      if (params.last != 0u) {
        candidate_keys[slot] = key;
        candidate_ids[slot] = ids[index];
      } else {
        lists_out[output + slot] = vec2u(key, ids[index]);
      }
      slot++;
    }
  }
  if (params.last == 0u) {
    for (var rest = kept + lane; rest < params.top_k; rest += ${WORKGROUP}u) { lists_out[output + rest] = vec2u(0u, NONE); }
    return;
  }
  // The last level: bitonic sort into rank order, then the draw (none when every token is banned: the greedy
  // token stays).
  if (kept == 0u) { return; }
  sort_candidates(kept, lane);
  if (lane < kept) { candidate_weights[lane] = exp(candidate_score(lane) - candidate_score(0u)); }
  workgroupBarrier();
  if (lane == 0u) {
    let token = draw_from_candidates(kept, false, 0.0);
    if (token != NONE) { destination[0] = i32(token); state[1] = 1u; }
  }
}`;
}

/** What {@link topKInSlices} works on: the scaled scores, the sampling state and the output of `sampleToken`. */
export interface TopKSelection {
  /** f32 `[vocabulary]`: the scores after penalties, biases and temperature. */
  readonly work: GpuTensor;
  /** `[largest scaled score (f32 bits), decided]`. */
  readonly state: GpuTensor;
  /** i32 `[1]`: the greedy token, replaced by the drawn one. */
  readonly destination: GpuTensor;
}

/**
 * Records top-k (1 ≤ `parameters.topK` ≤ {@link TOP_K_BOUND}), then top-p, min-p and the draw over the k candidates,
 * as levels of one kernel: the first over slices of 2,048 scores, each later one merging 8 lists of the level before,
 * until one workgroup draws. Dispatches ⌈log₈(vocabulary / 2,048)⌉ + 1 kernels.
 */
export function topKInSlices(
  runtime: GpuRuntime,
  tensors: TopKSelection,
  parameters: SamplingParameters,
  subgroups: boolean,
): void {
  const { work, state, destination } = tensors;
  const vocabulary = work.shape[0]!;
  const k = parameters.topK;
  // Lists per level: ⌈vocabulary / SLICE⌉, then ⌈· / FAN_IN⌉ until one.
  const lists = [Math.ceil(vocabulary / SLICE)];
  while (lists[lists.length - 1]! > 1) lists.push(Math.ceil(lists[lists.length - 1]! / FAN_IN));
  // Level L writes buffer L % 2; each is sized for the largest level it holds.
  const buffers = [0, 1].map((parity) =>
    runtime.allocate('i32', [2 * k * Math.max(1, ...lists.filter((_, level) => level % 2 === parity))]),
  );
  lists.forEach((count, level) => {
    const input = level === 0 ? vocabulary : lists[level - 1]! * k;
    const uniforms = new Uniforms()
      .u(input)
      .u(level === 0 ? SLICE : FAN_IN * k)
      .u(k)
      .u(level === 0 ? 1 : 0)
      .u(count === 1 ? 1 : 0)
      .f(parameters.topP)
      .f(parameters.minP)
      .f(parameters.random).words;
    runtime.dispatch({
      shader: {
        key: `sample-token:top-k:sg=${subgroups ? 1 : 0}`,
        storage: STORAGE,
        code: () => topKWgsl(subgroups),
      },
      uniforms,
      buffers: [
        { tracked: work.tracked },
        { tracked: level === 0 ? runtime.emptyBuffer : buffers[(level - 1) % 2]!.tracked },
        { tracked: buffers[level % 2]!.tracked },
        { tracked: state.tracked },
        { tracked: destination.tracked },
      ],
      workgroups: linearGrid(count),
    });
  });
  for (const buffer of buffers) runtime.release(buffer);
}
