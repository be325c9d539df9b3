import type { StorageAccess } from '../../runtime/shader.js';
import { workgroupReduction } from '../wgsl/reduce.js';

/** Invocations of the sampling workgroup. */
export const WORKGROUP = 256;

/** Most top-k candidates sorted exactly in workgroup memory. */
export const CANDIDATE_CAPACITY = 1024;

/**
 * WGSL of `sampleToken`: three kernels of one workgroup (256 invocations) each, so that a caller who samples greedily
 * compiles only the first and each one stays small (lavapipe compiles big shaders slowly):
 * 1. copy the last row banning tokens outside the allowed-token bitmask (when given), apply penalties and biases (one
 *    invocation, in list order);
 * 2. greedy: the first index of the maximum;
 * 3. with top-k from 257 to 1024 (top-k ≤ 256 runs over slices of the vocabulary instead, `top-k-slices.ts`), or no
 *    top-k but top-p or min-p over a short row (below 8,192 tokens): radix-select the k-th
 *    largest score (k = top-k, or 512;
 *    4 passes of 8-bit digits), gather the candidates into workgroup memory, bitonic-sort them by (score descending,
 *    id ascending), then one invocation applies top-k, top-p, min-p and the draw in rank order exactly as the CPU
 *    reference does (without top-k, when top-p or min-p ends inside the 512 best tokens);
 * 4. otherwise: thresholds by bisection over the float order, ties at a threshold all kept. Where step 3 does not
 *    run (plain temperature sampling, top-k > 1024, top-p or min-p without top-k over a vocabulary), many workgroups
 *    bisect 4 bits at a time
 *    (`radix-select.ts`); after step 3 (more tied candidates than fit, or filters that keep more than 512 tokens,
 *    which the host cannot know ahead), one workgroup bisects 1 bit at a time (about 33 passes over the vocabulary
 *    per threshold), a kernel that returns at once in the usual case where step 3 decided.
 *
 * The three single-workgroup kernels; the host dispatches only those the parameters can need. */
export type SamplingStage = 'prepare' | 'candidates' | 'bisect';

/** WGSL `key_of(value: f32) -> u32`: orders floats as unsigned integers (a < b ⇔ key(a) < key(b)). */
export const KEY_OF_WGSL = /* wgsl */ `// Orders floats as unsigned integers: a < b ⇔ key(a) < key(b).
fn key_of(value: f32) -> u32 {
  let bits = bitcast<u32>(value);
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}`;

/** The lowest finite float key (`key_of`): keys at or below it are −infinity, a banned token. */
export const FINITE_FLOOR = 0x00800000;

/** The common `Params` struct, `params`, `NONE`, `FINITE_FLOOR` and `key_of` of the sampling kernels. */
export const SAMPLING_COMMON = /* wgsl */ `
struct Params {
  vocabulary: u32, offset: u32, penalties: u32, biases: u32,
  repetition: f32, presence: f32, frequency: f32,
  temperature: f32, top_k: u32, top_p: f32, min_p: f32, random: f32,
  masked: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
const NONE = 0xffffffffu;
const FINITE_FLOOR = ${FINITE_FLOOR}u; // keys at or below this are -infinity (banned)

${KEY_OF_WGSL}
`;

/**
 * WGSL functions of the first step over the bindings of the `prepare` kernel (`logits`, the penalty and bias lists,
 * `work`, `allowed`): `masked_logit(token)`, the logit or −infinity outside the allowed-token bitmask, and
 * `apply_penalties()`, the penalties then the biases in list order on `work` (by one invocation). Shared with the
 * prepare steps over many workgroups (`sampling-prepare.ts`).
 */
export const PREPARE_FUNCTIONS = /* wgsl */ `// Structured output: a token outside the allowed bitmask is banned (-infinity) before everything else.
// (-infinity from a uniform-dependent bitcast: a constant one would be a shader-creation error.)
fn masked_logit(token: u32) -> f32 {
  let negative_infinity = bitcast<f32>(0xff800000u | (params.masked & 0u));
  let value = logits[params.offset + token];
  if (params.masked != 0u && ((allowed[token >> 5u] >> (token & 31u)) & 1u) == 0u) { return negative_infinity; }
  return value;
}
fn apply_penalties() {
  for (var entry = 0u; entry < params.penalties; entry++) {
    let token = u32(penalty_tokens[entry]);
    if (token >= params.vocabulary) { continue; }
    let occurrences = penalty_counts[entry];
    var value = work[token];
    if (params.repetition != 1.0) { value = select(value * params.repetition, value / params.repetition, value > 0.0); }
    value -= f32(occurrences) * params.frequency + select(0.0, params.presence, occurrences > 0);
    work[token] = value;
  }
  for (var entry = 0u; entry < params.biases; entry++) {
    let token = u32(bias_tokens[entry]);
    if (token < params.vocabulary) { work[token] += bias_values[entry]; }
  }
}`;

/** Access of {@link PREPARE_BINDINGS}, in order. */
export const PREPARE_STORAGE: readonly StorageAccess[] = [
  'read',
  'read',
  'read',
  'read',
  'read',
  'write',
  'write',
  'write',
  'read',
];

/** The bindings of the `prepare` kernel after `params`, in order (the prepare steps over many workgroups bind the same). */
export const PREPARE_BINDINGS = /* wgsl */ `@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> penalty_tokens: array<i32>;
@group(0) @binding(3) var<storage, read> penalty_counts: array<i32>;
@group(0) @binding(4) var<storage, read> bias_tokens: array<i32>;
@group(0) @binding(5) var<storage, read> bias_values: array<f32>;
@group(0) @binding(6) var<storage, read_write> work: array<f32>;
@group(0) @binding(7) var<storage, read_write> state: array<u32>;
@group(0) @binding(8) var<storage, read_write> destination: array<i32>;
@group(0) @binding(9) var<storage, read> allowed: array<u32>;`;

/**
 * WGSL `sort_candidates(count, lane)`: pads the `count` candidates in `candidate_keys` / `candidate_ids` (score keys
 * and ids, in workgroup memory) to a power of two with empty entries and sorts them into rank order by a bitonic sort
 * over the workgroup's {@link WORKGROUP} invocations (`lane`: 0 … 255, one each), with `ranks_before(a, b)`: a higher
 * score first, then a lower id (the CPU reference's order). Needs `NONE`; call it in uniform control flow (barriers).
 */
export const SORT_CANDIDATES = /* wgsl */ `// True when candidate a ranks before candidate b: higher score, or the same score and a lower id.
fn ranks_before(a: u32, b: u32) -> bool {
  return candidate_keys[a] > candidate_keys[b] || (candidate_keys[a] == candidate_keys[b] && candidate_ids[a] < candidate_ids[b]);
}
fn sort_candidates(count: u32, lane: u32) {
  var size = 1u;
  while (size < count) { size <<= 1u; }
  for (var slot = count + lane; slot < size; slot += ${WORKGROUP}u) { candidate_keys[slot] = 0u; candidate_ids[slot] = NONE; }
  workgroupBarrier();
  for (var block = 2u; block <= size; block <<= 1u) {
    for (var stride = block >> 1u; stride > 0u; stride >>= 1u) {
      for (var slot = lane; slot < size; slot += ${WORKGROUP}u) {
        let other = slot ^ stride;
        if (other > slot) {
          let swap = select(ranks_before(slot, other), ranks_before(other, slot), (slot & block) == 0u);
          if (swap) {
            let key = candidate_keys[slot];
            let id = candidate_ids[slot];
            candidate_keys[slot] = candidate_keys[other];
            candidate_ids[slot] = candidate_ids[other];
            candidate_keys[other] = key;
            candidate_ids[other] = id;
          }
        }
      }
      workgroupBarrier();
    }
  }
}`;

/**
 * WGSL `draw_from_candidates(count, open, open_total) -> u32`: the CPU reference's walk (top-k, top-p, min-p, the
 * draw) over `count` candidates in rank order, by one invocation. Needs `params` (`top_k`, `top_p`, `min_p`,
 * `random`), `NONE`, the candidates' ids in rank order in `candidate_ids`, `candidate_score(rank) -> f32` and
 * `candidate_weight(rank, maximum) -> f32`, which must be `exp(candidate_score(rank) - maximum)` (a kernel may compute
 * the weights ahead, in parallel: the same operations give the same bits).
 */
export const DRAW_FROM_CANDIDATES = /* wgsl */ `// The CPU reference's walk over candidates in rank order (one invocation). open: no top-k, the candidates are the
// best tokens of the whole vocabulary and open_total its mass; NONE when top-p and min-p do not end inside them.
fn draw_from_candidates(count: u32, open: bool, open_total: f32) -> u32 {
  var kept = select(min(params.top_k, count), count, open);
  let maximum = candidate_score(0u);
  var total = open_total;
  if (!open) {
    total = 0.0;
    for (var rank = 0u; rank < kept; rank++) { total += candidate_weight(rank, maximum); }
  }
  var bounded = !open;
  if (params.top_p < 1.0) {
    var cumulative = 0.0;
    for (var rank = 0u; rank < kept; rank++) {
      cumulative += candidate_weight(rank, maximum) / total;
      if (cumulative >= params.top_p) { kept = rank + 1u; bounded = true; break; }
    }
  }
  if (params.min_p > 0.0) {
    var rank = 1u;
    while (rank < kept && candidate_weight(rank, maximum) >= params.min_p) { rank++; }
    if (rank < kept) { bounded = true; }
    kept = rank;
  }
  if (!bounded) { return NONE; }
  var mass = 0.0;
  for (var rank = 0u; rank < kept; rank++) { mass += candidate_weight(rank, maximum); }
  let threshold = params.random * mass;
  var cumulative = 0.0;
  for (var rank = 0u; rank < kept; rank++) {
    cumulative += candidate_weight(rank, maximum);
    if (cumulative > threshold) { return candidate_ids[rank]; }
  }
  return candidate_ids[kept - 1u];
}`;

/**
 * WGSL of one sampling kernel. `state` holds the largest scaled score (f32 bits) and whether the token is decided.
 * - `prepare` (logits, penalty and bias lists, work, state, destination, allowed bitmask): steps 1–2, then scales the
 *   scores;
 * - `candidates` (work, state, destination): step 3, deciding the token when it is exact;
 * - `bisect` (work, state, destination): step 4 unless a token was decided.
 */
export function samplingShader(stage: SamplingStage, subgroups: boolean): string {
  const reduction = workgroupReduction(subgroups, WORKGROUP);
  const args = reduction.args;
  const entry = `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) li: u32${reduction.builtins}) {
  let count = params.vocabulary;`;
  if (stage === 'prepare') {
    return /* wgsl */ `${reduction.enable}
${SAMPLING_COMMON}
${PREPARE_BINDINGS}
${reduction.functions}
${PREPARE_FUNCTIONS}
${entry}
  for (var token = li; token < count; token += ${WORKGROUP}u) { work[token] = masked_logit(token); }
  storageBarrier();
  workgroupBarrier();
  // Penalties then biases, in list order, by one invocation (the lists are short; duplicates apply in order).
  if (li == 0u) { apply_penalties(); }
  storageBarrier();
  workgroupBarrier();

  // Greedy: the first index of the largest logit.
  var best = -3.402823e38;
  var best_index = NONE;
  for (var token = li; token < count; token += ${WORKGROUP}u) {
    let value = work[token];
    if (best_index == NONE || value > best) { best = value; best_index = token; }
  }
  let top = reduce_max(best, ${args});
  let first_best = reduce_min_u(select(NONE, best_index, best == top && best_index != NONE), ${args});
  // The greedy token is the answer at temperature 0 and the fallback of the later kernels.
  if (li == 0u) {
    destination[0] = i32(select(first_best, 0u, first_best == NONE));
    state[1] = select(0u, 1u, params.temperature <= 0.0);
  }
  if (params.temperature <= 0.0) { return; }
  // Temperature: scores s = logit / T; weights exp(s − max s).
  if (li == 0u) { state[0] = bitcast<u32>(top / params.temperature); }
  for (var token = li; token < count; token += ${WORKGROUP}u) { work[token] = work[token] / params.temperature; }

}`;
  }
  const bindings = `@group(0) @binding(1) var<storage, read> work: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> destination: array<i32>;
var<workgroup> decided: u32;`;
  const start = `${entry}
  if (li == 0u) { decided = state[1]; }
  if (workgroupUniformLoad(&decided) != 0u) { return; }
  let top_scaled = bitcast<f32>(state[0]);`;
  if (stage === 'candidates') {
    return /* wgsl */ `${reduction.enable}
${SAMPLING_COMMON}
${bindings}
${reduction.functions}
const CAPACITY = ${CANDIDATE_CAPACITY}u;
var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> candidate_keys: array<u32, ${CANDIDATE_CAPACITY}>;
var<workgroup> candidate_ids: array<u32, ${CANDIDATE_CAPACITY}>;
var<workgroup> candidate_count: atomic<u32>;
var<workgroup> radix_prefix: u32;
var<workgroup> radix_remaining: u32;
var<workgroup> gathered: u32;
${SORT_CANDIDATES}
fn candidate_score(rank: u32) -> f32 { return work[candidate_ids[rank]]; }
fn candidate_weight(rank: u32, maximum: f32) -> f32 { return exp(candidate_score(rank) - maximum); }
${DRAW_FROM_CANDIDATES}


${start}
  // Top-k ≤ CAPACITY: its candidates. No top-k but top-p or min-p: the CAPACITY / 2 best tokens (room for ties), exact when the filters end
  // inside them.
  let open = params.top_k == 0u && (params.top_p < 1.0 || params.min_p > 0.0);
  if ((params.top_k > 0u && params.top_k <= CAPACITY) || open) {
    var open_total = 0.0;
    if (open) {
      var local_mass = 0.0;
      for (var token = li; token < count; token += ${WORKGROUP}u) {
        let s = work[token];
        local_mass += select(0.0, exp(s - top_scaled), key_of(s) >= FINITE_FLOOR);
      }
      open_total = reduce_sum(local_mass, ${args});
    }
    let wanted = select(params.top_k, CAPACITY / 2u, open);
    // The k-th largest finite score, by radix selection on its key (8 bits a pass, from the top); the first pass's
    // histogram counts every finite score, so it also gives their number.
    if (li == 0u) { radix_prefix = 0u; radix_remaining = wanted; }
    for (var round = 0u; round < 4u; round++) {
      let shift = 24u - round * 8u;
      let mask = select(0u, 0xffffffffu << (shift + 8u), round > 0u);
      atomicStore(&histogram[li], 0u);
      workgroupBarrier();
      let prefix = radix_prefix;
      for (var token = li; token < count; token += ${WORKGROUP}u) {
        let k = key_of(work[token]);
        if (k >= FINITE_FLOOR && (k & mask) == prefix) { atomicAdd(&histogram[(k >> shift) & 255u], 1u); }
      }
      workgroupBarrier();
      if (li == 0u) {
        var need = radix_remaining;
        if (round == 0u) {
          var finite = 0u;
          for (var bin = 0u; bin < 256u; bin++) { finite += atomicLoad(&histogram[bin]); }
          need = min(need, finite);
        }
        var digit = 0u;
        for (var bin = 255i; bin >= 0i; bin--) {
          let inside = atomicLoad(&histogram[u32(bin)]);
          if (inside >= need) { digit = u32(bin); break; }
          need -= inside;
        }
        radix_prefix = prefix | (digit << shift);
        radix_remaining = need;
      }
      workgroupBarrier();
    }
    // Gather every finite token at or above it (ties included) into workgroup memory.
    let threshold = radix_prefix;
    if (li == 0u) { atomicStore(&candidate_count, 0u); }
    workgroupBarrier();
    for (var token = li; token < count; token += ${WORKGROUP}u) {
      let k = key_of(work[token]);
      if (k >= threshold && k >= FINITE_FLOOR) {
        let slot = atomicAdd(&candidate_count, 1u);
        if (slot < CAPACITY) { candidate_keys[slot] = k; candidate_ids[slot] = token; }
      }
    }
    workgroupBarrier();
    if (li == 0u) { gathered = atomicLoad(&candidate_count); }
    let candidates = workgroupUniformLoad(&gathered);
    if (candidates > 0u && candidates <= CAPACITY) {
      sort_candidates(candidates, li);
      if (li == 0u) {
        let token = draw_from_candidates(candidates, open, open_total);
        if (token != NONE) { destination[0] = i32(token); state[1] = 1u; }
      }
    }
  }

}`;
  }
  return /* wgsl */ `${reduction.enable}
${SAMPLING_COMMON}
${bindings}
${reduction.functions}
${start}
  // Keep keys ≥ floor; a banned (-inf) token never passes. Three bisections share one loop (small code compiles
  // fast): stage 0 top-k (the largest key with at least k tokens at or above it), stage 1 top-p (the largest key whose
  // kept mass at or above it reaches p of the kept total), stage 2 the draw (walking down from the most likely token,
  // the first whose cumulative kept mass exceeds random · total; min-p is applied first).
  var floor = FINITE_FLOOR;
  var chosen_key = 0u;
  for (var stage = 0u; stage < 3u; stage++) {
    if (stage == 0u && !(params.top_k > 0u && params.top_k < count)) { continue; }
    if (stage == 1u && !(params.top_p < 1.0)) { continue; }
    if (stage == 2u && params.min_p > 0.0) { floor = max(floor, key_of(top_scaled + log(params.min_p))); }
    var local_total = 0.0;
    for (var token = li; token < count; token += ${WORKGROUP}u) {
      let s = work[token];
      local_total += select(0.0, exp(s - top_scaled), key_of(s) >= floor);
    }
    let total = reduce_sum(local_total, ${args});
    var target_value = f32(params.top_k);
    if (stage == 1u) { target_value = params.top_p * total; }
    if (stage == 2u) { target_value = params.random * total; }
    var found = 0u;
    for (var bit = 31i; bit >= 0i; bit--) {
      let candidate = found | (1u << u32(bit));
      var local = 0.0;
      for (var token = li; token < count; token += ${WORKGROUP}u) {
        let s = work[token];
        let k = key_of(s);
        if (k >= candidate && k >= floor) { local += select(exp(s - top_scaled), 1.0, stage == 0u); }
      }
      let sum = reduce_sum(local, ${args});
      if (sum > target_value || (stage != 2u && sum == target_value)) { found = candidate; }
    }
    if (stage == 2u) { chosen_key = found; } else { floor = max(floor, found); }
  }
  var local_choice = NONE;
  for (var token = li; token < count; token += ${WORKGROUP}u) {
    let k = key_of(work[token]);
    if (k == chosen_key && k >= floor && local_choice == NONE) { local_choice = token; }
  }
  let choice = reduce_min_u(local_choice, ${args});
  if (li == 0u && choice != NONE) { destination[0] = i32(choice); }
}`;
}
