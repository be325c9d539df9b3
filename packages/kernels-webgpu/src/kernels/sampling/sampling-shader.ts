import { workgroupReduction } from '../wgsl/reduce.js';

/** Invocations of the sampling workgroup. */
export const WORKGROUP = 256;

/** Most top-k candidates sorted exactly in workgroup memory. */
export const CANDIDATE_CAPACITY = 1024;

/**
 * WGSL of `sampleToken`, one workgroup of 256 invocations:
 * 1. copy the last row, apply penalties and biases (one invocation, in list order);
 * 2. greedy: the first index of the maximum;
 * 3. with top-k ≤ 1024 (the usual case): radix-select the k-th largest score (4 passes of 8-bit digits), gather the
 *    candidates into workgroup memory, bitonic-sort them by (score descending, id ascending), then one invocation
 *    applies top-k, top-p, min-p and the draw in rank order exactly as the CPU reference does;
 * 4. otherwise (no top-k, or more candidates than fit): thresholds by bisection over the float order (about 100 passes
 *    over the vocabulary); ties at a threshold are all kept.
 */
export function samplingShader(subgroups: boolean): string {
  const reduction = workgroupReduction(subgroups, WORKGROUP);
  const args = reduction.args;
  return /* wgsl */ `${reduction.enable}
struct Params {
  vocabulary: u32, offset: u32, penalties: u32, biases: u32,
  repetition: f32, presence: f32, frequency: f32,
  temperature: f32, top_k: u32, top_p: f32, min_p: f32, random: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> penalty_tokens: array<i32>;
@group(0) @binding(3) var<storage, read> penalty_counts: array<i32>;
@group(0) @binding(4) var<storage, read> bias_tokens: array<i32>;
@group(0) @binding(5) var<storage, read> bias_values: array<f32>;
@group(0) @binding(6) var<storage, read_write> work: array<f32>;
@group(0) @binding(7) var<storage, read_write> destination: array<i32>;
${reduction.functions}
const NONE = 0xffffffffu;
const CAPACITY = ${CANDIDATE_CAPACITY}u;
var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> candidate_keys: array<u32, ${CANDIDATE_CAPACITY}>;
var<workgroup> candidate_ids: array<u32, ${CANDIDATE_CAPACITY}>;
var<workgroup> candidate_count: atomic<u32>;
var<workgroup> radix_prefix: u32;
var<workgroup> radix_remaining: u32;
var<workgroup> gathered: u32;

// True when candidate a ranks before candidate b: higher score, or the same score and a lower id.
fn ranks_before(a: u32, b: u32) -> bool {
  return candidate_keys[a] > candidate_keys[b] || (candidate_keys[a] == candidate_keys[b] && candidate_ids[a] < candidate_ids[b]);
}

// The CPU reference's walk over candidates in rank order (one invocation).
fn draw_from_candidates(count: u32) -> u32 {
  var kept = min(params.top_k, count);
  let maximum = work[candidate_ids[0]];
  var total = 0.0;
  for (var rank = 0u; rank < kept; rank++) { total += exp(work[candidate_ids[rank]] - maximum); }
  if (params.top_p < 1.0) {
    var cumulative = 0.0;
    for (var rank = 0u; rank < kept; rank++) {
      cumulative += exp(work[candidate_ids[rank]] - maximum) / total;
      if (cumulative >= params.top_p) { kept = rank + 1u; break; }
    }
  }
  if (params.min_p > 0.0) {
    var rank = 1u;
    while (rank < kept && exp(work[candidate_ids[rank]] - maximum) >= params.min_p) { rank++; }
    kept = rank;
  }
  var mass = 0.0;
  for (var rank = 0u; rank < kept; rank++) { mass += exp(work[candidate_ids[rank]] - maximum); }
  let threshold = params.random * mass;
  var cumulative = 0.0;
  for (var rank = 0u; rank < kept; rank++) {
    cumulative += exp(work[candidate_ids[rank]] - maximum);
    if (cumulative > threshold) { return candidate_ids[rank]; }
  }
  return candidate_ids[kept - 1u];
}
const FINITE_FLOOR = 0x00800000u; // keys at or below this are -infinity (banned) or NaN-free negatives of -inf

// Orders floats as unsigned integers: a < b ⇔ key(a) < key(b).
fn key_of(value: f32) -> u32 {
  let bits = bitcast<u32>(value);
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) li: u32${reduction.builtins}) {
  let count = params.vocabulary;
  for (var token = li; token < count; token += ${WORKGROUP}u) { work[token] = logits[params.offset + token]; }
  storageBarrier();
  workgroupBarrier();
  // Penalties then biases, in list order, by one invocation (the lists are short; duplicates apply in order).
  if (li == 0u) {
    for (var entry = 0u; entry < params.penalties; entry++) {
      let token = u32(penalty_tokens[entry]);
      if (token >= count) { continue; }
      let occurrences = penalty_counts[entry];
      var value = work[token];
      if (params.repetition != 1.0) { value = select(value * params.repetition, value / params.repetition, value > 0.0); }
      value -= f32(occurrences) * params.frequency + select(0.0, params.presence, occurrences > 0);
      work[token] = value;
    }
    for (var entry = 0u; entry < params.biases; entry++) {
      let token = u32(bias_tokens[entry]);
      if (token < count) { work[token] += bias_values[entry]; }
    }
  }
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
  if (params.temperature <= 0.0) {
    if (li == 0u) { destination[0] = i32(select(first_best, 0u, first_best == NONE)); }
    return;
  }

  // Temperature: scores s = logit / T; weights exp(s − max s).
  let top_scaled = top / params.temperature;
  for (var token = li; token < count; token += ${WORKGROUP}u) { work[token] = work[token] / params.temperature; }
  storageBarrier();
  workgroupBarrier();

  if (params.top_k > 0u && params.top_k <= CAPACITY) {
    // The k-th largest finite score, by radix selection on its key (8 bits a pass, from the top).
    var local_finite = 0.0;
    for (var token = li; token < count; token += ${WORKGROUP}u) { local_finite += select(0.0, 1.0, key_of(work[token]) >= FINITE_FLOOR); }
    let finite = u32(reduce_sum(local_finite, ${args}));
    if (li == 0u) { radix_prefix = 0u; radix_remaining = min(params.top_k, finite); }
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
      var size = 1u;
      while (size < candidates) { size <<= 1u; }
      for (var slot = candidates + li; slot < size; slot += ${WORKGROUP}u) { candidate_keys[slot] = 0u; candidate_ids[slot] = NONE; }
      workgroupBarrier();
      // Bitonic sort into rank order.
      for (var block = 2u; block <= size; block <<= 1u) {
        for (var stride = block >> 1u; stride > 0u; stride >>= 1u) {
          for (var slot = li; slot < size; slot += ${WORKGROUP}u) {
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
      if (li == 0u) { destination[0] = i32(draw_from_candidates(candidates)); }
      return;
    }
  }

  // Keep keys ≥ floor; a banned (-inf) token never passes.
  var floor = FINITE_FLOOR;
  // Top-k: the largest key K with at least k tokens at or above it.
  if (params.top_k > 0u && params.top_k < count) {
    var found = 0u;
    for (var bit = 31i; bit >= 0i; bit--) {
      let candidate = found | (1u << u32(bit));
      var local = 0.0;
      for (var token = li; token < count; token += ${WORKGROUP}u) { local += select(0.0, 1.0, key_of(work[token]) >= candidate); }
      if (reduce_sum(local, ${args}) >= f32(params.top_k)) { found = candidate; }
    }
    floor = max(floor, found);
  }
  // Top-p: the largest key K whose kept mass at or above it reaches p of the kept total.
  if (params.top_p < 1.0) {
    var local_total = 0.0;
    for (var token = li; token < count; token += ${WORKGROUP}u) {
      let s = work[token];
      local_total += select(0.0, exp(s - top_scaled), key_of(s) >= floor);
    }
    let threshold = params.top_p * reduce_sum(local_total, ${args});
    var found = 0u;
    for (var bit = 31i; bit >= 0i; bit--) {
      let candidate = found | (1u << u32(bit));
      var local = 0.0;
      for (var token = li; token < count; token += ${WORKGROUP}u) {
        let s = work[token];
        let k = key_of(s);
        local += select(0.0, exp(s - top_scaled), k >= candidate && k >= floor);
      }
      if (reduce_sum(local, ${args}) >= threshold) { found = candidate; }
    }
    floor = max(floor, found);
  }
  // Min-p (after top-p, which normalises over the top-k set): keep s ≥ max + ln(min_p).
  if (params.min_p > 0.0) { floor = max(floor, key_of(top_scaled + log(params.min_p))); }
  // Pick: walking tokens from the most likely down, the first whose cumulative kept mass exceeds random · total.
  var local_kept = 0.0;
  for (var token = li; token < count; token += ${WORKGROUP}u) {
    let s = work[token];
    local_kept += select(0.0, exp(s - top_scaled), key_of(s) >= floor);
  }
  let target_mass = params.random * reduce_sum(local_kept, ${args});
  var chosen_key = 0u;
  for (var bit = 31i; bit >= 0i; bit--) {
    let candidate = chosen_key | (1u << u32(bit));
    var local = 0.0;
    for (var token = li; token < count; token += ${WORKGROUP}u) {
      let s = work[token];
      let k = key_of(s);
      local += select(0.0, exp(s - top_scaled), k >= candidate && k >= floor);
    }
    if (reduce_sum(local, ${args}) > target_mass) { chosen_key = candidate; }
  }
  var local_choice = NONE;
  for (var token = li; token < count; token += ${WORKGROUP}u) {
    let k = key_of(work[token]);
    if (k == chosen_key && k >= floor && local_choice == NONE) { local_choice = token; }
  }
  let choice = reduce_min_u(local_choice, ${args});
  if (li == 0u) { destination[0] = i32(select(choice, select(first_best, 0u, first_best == NONE), choice == NONE)); }
}`;
}
