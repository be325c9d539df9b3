import { type SamplingParameters, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { workgroupReduction } from '../wgsl/reduce.js';

const WORKGROUP = 256;

function invalid(message: string): never {
  throw new StrataError('INVALID_SAMPLING_OPTIONS', `sampleToken: ${message}`);
}

/** The checks of the CPU reference, on the host: nothing about them needs the logits. */
export function validateSampling(parameters: SamplingParameters, vocabulary: number): void {
  const { temperature, topK, topP, minP, random } = parameters;
  if (!(temperature >= 0)) invalid(`temperature must be ≥ 0 (0 for greedy), got ${temperature}.`);
  if (!(Number.isInteger(topK) && topK >= 0)) invalid(`topK must be a non-negative integer (0 disables), got ${topK}.`);
  if (!(topP > 0 && topP <= 1)) invalid(`topP must be in (0, 1] (1 disables), got ${topP}.`);
  if (!(minP >= 0 && minP <= 1)) invalid(`minP must be in [0, 1] (0 disables), got ${minP}.`);
  if (!(random >= 0 && random < 1)) invalid(`random must be in [0, 1), got ${random}.`);
  if (parameters.penaltyTokens.length !== parameters.penaltyCounts.length) {
    invalid('penaltyTokens and penaltyCounts differ in length.');
  }
  if (parameters.logitBiasTokens.length !== parameters.logitBiasValues.length) {
    invalid('logitBiasTokens and logitBiasValues differ in length.');
  }
  for (const token of [...parameters.penaltyTokens, ...parameters.logitBiasTokens]) {
    if (!(token >= 0 && token < vocabulary)) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `Sampling got token id ${token}; the vocabulary has ${vocabulary} tokens.`,
      );
    }
  }
}

function samplingShader(subgroups: boolean): string {
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
  let inverse_temperature = 1.0 / params.temperature;
  let top_scaled = top * inverse_temperature;
  for (var token = li; token < count; token += ${WORKGROUP}u) { work[token] = work[token] * inverse_temperature; }
  storageBarrier();
  workgroupBarrier();

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

/**
 * Samples one token from the last row of `logits` on the device, in the order penalties → logit bias → temperature →
 * top-k → top-p → min-p (see `SamplingParameters`), in one workgroup: thresholds are found by bisection over the
 * float order, so nothing is sorted and only the chosen id (i32 `[1]`) needs reading back.
 */
export function sampleToken(runtime: GpuRuntime, logits: Tensor, parameters: SamplingParameters): GpuTensor {
  const source = runtime.tensor(logits, 'f32', 'logits');
  const vocabulary = source.shape[source.shape.length - 1] ?? 0;
  const rows = vocabulary === 0 ? 0 : source.size / vocabulary;
  if (rows === 0 || source.shape.length > 2) {
    throw new StrataError('SHAPE_MISMATCH', `sampleToken: logits [${source.shape.join(', ')}] have no row to sample.`);
  }
  validateSampling(parameters, vocabulary);
  const list = (data: Int32Array | Float32Array) =>
    data.length === 0 ? undefined : runtime.upload(data, [data.length]);
  const penaltyTokens = list(parameters.penaltyTokens);
  const penaltyCounts = list(parameters.penaltyCounts);
  const biasTokens = list(parameters.logitBiasTokens);
  const biasValues = list(parameters.logitBiasValues);
  const work = runtime.allocate('f32', [vocabulary]);
  const output = runtime.allocate('i32', [1]);
  const subgroups = runtime.features.subgroups;
  runtime.dispatch({
    shader: {
      key: `sample-token:sg=${subgroups ? 1 : 0}`,
      storage: ['read', 'read', 'read', 'read', 'read', 'write', 'write'],
      code: () => samplingShader(subgroups),
    },
    uniforms: new Uniforms()
      .u(vocabulary)
      .u((rows - 1) * vocabulary)
      .u(parameters.penaltyTokens.length)
      .u(parameters.logitBiasTokens.length)
      .f(parameters.repetitionPenalty)
      .f(parameters.presencePenalty)
      .f(parameters.frequencyPenalty)
      .f(parameters.temperature)
      .u(Math.max(0, Math.floor(parameters.topK)))
      .f(parameters.topP)
      .f(parameters.minP)
      .f(parameters.random).words,
    buffers: [
      { tracked: source.tracked },
      { tracked: penaltyTokens?.tracked ?? runtime.emptyBuffer },
      { tracked: penaltyCounts?.tracked ?? runtime.emptyBuffer },
      { tracked: biasTokens?.tracked ?? runtime.emptyBuffer },
      { tracked: biasValues?.tracked ?? runtime.emptyBuffer },
      { tracked: work.tracked },
      { tracked: output.tracked },
    ],
    workgroups: [1],
  });
  for (const scratch of [penaltyTokens, penaltyCounts, biasTokens, biasValues, work]) {
    if (scratch !== undefined) runtime.release(scratch);
  }
  return output;
}
