import type { SamplingParameters } from '@strata/core';
import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, type StorageAccess, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { FINITE_FLOOR, KEY_OF_WGSL } from './sampling-shader.js';

// The thresholds of `sampleToken` where no candidates kernel runs (plain temperature sampling, top-k above 1024, top-p
// or min-p without top-k over a vocabulary of 8,192 or more), selected over the whole vocabulary by many workgroups.
// For each bisection (top-k, top-p, the draw), the largest float key whose kept mass at or above it passes the test is
// found 4 bits at a time, from the top. Each level is one pass, one workgroup per slice of 1,024 scores:
// - the reduce of the level before, done alike by every workgroup (the slices' histograms added in a fixed order,
//   then the largest digit whose mass, with the mass above it, passes), its state kept by the first workgroup;
// - the histogram: the kept mass per value of the next digit among the scores that share the digits found so far (one
//   invocation per digit value and sub-slice of 64 scores adds up that digit's mass in score order, then the
//   sub-slices are added in order).
// Eight levels per bisection; then one pass reduces the last level and finds the first token with the drawn key, and
// one invocation stores it. Every sum has a fixed order, so a draw repeats exactly (the same sums, in the same order,
// as when one workgroup reduced each level in a pass of its own, two passes a level). The states and histograms
// alternate between two slots, as a pass reads the last one while its first workgroup writes the next.

/** Scores one histogram workgroup takes. */
const SLICE = 1024;

/** Invocations per workgroup. */
const WORKGROUP = 256;

/** Bits of a digit, and its values. */
const DIGIT_BITS = 4;
const DIGITS = 1 << DIGIT_BITS;

/** Sub-slices of a histogram workgroup (one invocation per digit value and sub-slice), and scores per sub-slice. */
const SUBSLICES = WORKGROUP / DIGITS;
const SUBSLICE = SLICE / SUBSLICES;

/** The digits' shifts, from the top. */
const SHIFTS = Array.from({ length: 32 / DIGIT_BITS }, (_, level) => 32 - DIGIT_BITS * (level + 1));

/** Words of one state slot: floor, prefix, mass above the prefix (f32), target (f32), chosen key. */
const SLOT_WORDS = 5;

/** Words of the selection: two state slots, then the first token with the chosen key. */
const SELECTION_WORDS = 2 * SLOT_WORDS + 1;

const PARAMS = /* wgsl */ `struct Params {
  vocabulary: u32, slices: u32, stage: u32, shift: u32, previous_stage: u32, previous_shift: u32, parity: u32,
  top_k: u32, top_p: f32, min_p: f32, random: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
const NONE = 0xffffffffu;
const FIRST_TOKEN = ${2 * SLOT_WORDS}u;
${KEY_OF_WGSL}
var<workgroup> decided: u32;`;

// The kept floor of a bisection: the floor the earlier ones raised, and min-p's for the draw (stage 2).
const FLOOR = /* wgsl */ `fn stage_floor(floor: u32, top: f32) -> u32 {
  if (params.stage == 2u && params.min_p > 0.0) { return max(floor, key_of(top + log(params.min_p))); }
  return floor;
}`;

// Returns from main when an earlier kernel decided the token (state[1]), in uniform control flow.
const UNLESS_DECIDED = /* wgsl */ `  if (li == 0u) { decided = state[1]; }
  if (workgroupUniformLoad(&decided) != 0u) { return; }`;

// `reduce_previous(li, state)`: the reduce of the level before, by every invocation, from its histograms (half
// 1 − parity of `partial`) and the state before it (slot parity, `load_selection`; `load_word(index)` reads the
// selection). The new state goes to slot 1 − parity, the new histograms to half parity.
const REDUCE = /* wgsl */ `struct Selection { floor: u32, prefix: u32, above: f32, target_value: f32, chosen: u32 }
var<workgroup> sums: array<f32, ${WORKGROUP}>;
var<workgroup> histogram: array<f32, ${DIGITS}>;
fn load_selection(slot: u32) -> Selection {
  let base = slot * ${SLOT_WORDS}u;
  return Selection(load_word(base), load_word(base + 1u), bitcast<f32>(load_word(base + 2u)),
    bitcast<f32>(load_word(base + 3u)), load_word(base + 4u));
}
fn reduce_previous(li: u32, state_in: Selection) -> Selection {
  var selected = state_in;
  let base = (1u - params.parity) * params.slices * ${DIGITS}u;
  // Invocation li adds digit li % ${DIGITS} of every ${SUBSLICES}th slice from slice li / ${DIGITS}; the first ${DIGITS} add
  // those shares in order.
  var mass = 0.0;
  for (var slice = li / ${DIGITS}u; slice < params.slices; slice += ${SUBSLICES}u) {
    mass += partial[base + slice * ${DIGITS}u + li % ${DIGITS}u];
  }
  sums[li] = mass;
  workgroupBarrier();
  if (li < ${DIGITS}u) {
    var total = 0.0;
    for (var share = 0u; share < ${SUBSLICES}u; share++) { total += sums[share * ${DIGITS}u + li]; }
    histogram[li] = total;
  }
  workgroupBarrier();
  let stage = params.previous_stage;
  let shift = params.previous_shift;
  let first = shift == ${SHIFTS[0]}u;
  if (first) {
    // The kept total (every kept score is in the first level's histogram) gives the bisection's target.
    var total = 0.0;
    for (var digit = 0u; digit < ${DIGITS}u; digit++) { total += histogram[digit]; }
    selected.target_value = params.random * total;
    if (stage == 0u) { selected.target_value = f32(params.top_k); }
    if (stage == 1u) { selected.target_value = params.top_p * total; }
  }
  // The largest digit whose mass at or above it (with the mass above the prefix) exceeds the target (reaches it, for
  // top-k and top-p): the keys at or above prefix | digit.
  var above = select(selected.above, 0.0, first);
  var prefix = select(selected.prefix, 0u, first);
  var chosen = 0u;
  for (var digit = ${DIGITS - 1}i; digit >= 0i; digit--) {
    let next = above + histogram[digit];
    if (next > selected.target_value || (stage != 2u && next == selected.target_value)) {
      chosen = u32(digit);
      break;
    }
    above = next;
  }
  prefix = prefix | (chosen << shift);
  selected.prefix = prefix;
  selected.above = above;
  if (shift == 0u) {
    if (stage == 2u) { selected.chosen = prefix; } else { selected.floor = max(selected.floor, prefix); }
  }
  return selected;
}`;

function histogramWgsl(): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> work: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> selection: array<u32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
fn load_word(index: u32) -> u32 { return selection[index]; }
${REDUCE}
${FLOOR}
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
${UNLESS_DECIDED}
  let slice = linear_group(group, groups);
  if (slice >= params.slices) { return; }
  var selected = load_selection(params.parity);
  if (params.previous_shift != NONE) {
    selected = reduce_previous(li, selected);
    if (slice == 0u && li == 0u) {
      let base = (1u - params.parity) * ${SLOT_WORDS}u;
      selection[base] = selected.floor;
      selection[base + 1u] = selected.prefix;
      selection[base + 2u] = bitcast<u32>(selected.above);
      selection[base + 3u] = bitcast<u32>(selected.target_value);
      selection[base + 4u] = selected.chosen;
    }
  }
  let top = bitcast<f32>(state[0]);
  let floor = stage_floor(selected.floor, top);
  let prefix = selected.prefix;
  let above = params.shift + ${DIGIT_BITS}u;
  // Invocation li adds the kept mass of digit li % ${DIGITS} in sub-slice li / ${DIGITS}, in score order: the first
  // level takes every kept score, later ones those that share the digits found so far.
  let digit = li % ${DIGITS}u;
  let first = slice * ${SLICE}u + (li / ${DIGITS}u) * ${SUBSLICE}u;
  let last = min(first + ${SUBSLICE}u, params.vocabulary);
  var sum = 0.0;
  for (var token = first; token < last; token++) {
    let s = work[token];
    let k = key_of(s);
    let shares = params.shift == ${SHIFTS[0]}u || (k >> above) == (prefix >> above);
    if (k >= floor && shares && ((k >> params.shift) & ${DIGITS - 1}u) == digit) {
      sum += select(exp(s - top), 1.0, params.stage == 0u);
    }
  }
  sums[li] = sum;
  workgroupBarrier();
  // The first ${DIGITS} invocations add the sub-slices of their digit in order.
  if (li < ${DIGITS}u) {
    var total = 0.0;
    for (var sub = 0u; sub < ${SUBSLICES}u; sub++) { total += sums[sub * ${DIGITS}u + li]; }
    partial[params.parity * params.slices * ${DIGITS}u + slice * ${DIGITS}u + li] = total;
  }
}`;
}

function chooseWgsl(): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> work: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> selection: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read> partial: array<f32>;
fn load_word(index: u32) -> u32 { return atomicLoad(&selection[index]); }
${REDUCE}
${FLOOR}
${WGSL_LINEAR_GROUP}
var<workgroup> first_token: atomic<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  if (li == 0u) { decided = state[1]; atomicStore(&first_token, NONE); }
  if (workgroupUniformLoad(&decided) != 0u) { return; }
  let slice = linear_group(group, groups);
  if (slice >= params.slices) { return; }
  // The draw's last level, then the first token of this slice with the drawn key.
  let selected = reduce_previous(li, load_selection(params.parity));
  let floor = stage_floor(selected.floor, bitcast<f32>(state[0]));
  let chosen = selected.chosen;
  for (var index = li; index < ${SLICE}u; index += ${WORKGROUP}u) {
    let token = slice * ${SLICE}u + index;
    if (token < params.vocabulary) {
      let k = key_of(work[token]);
      if (k == chosen && k >= floor) { atomicMin(&first_token, token); }
    }
  }
  workgroupBarrier();
  if (li == 0u) {
    let token = atomicLoad(&first_token);
    if (token != NONE) { atomicMin(&selection[FIRST_TOKEN], token); }
  }
}`;
}

function storeWgsl(): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> selection: array<u32>;
@group(0) @binding(3) var<storage, read_write> destination: array<i32>;
@compute @workgroup_size(1)
fn main() {
  if (state[1] == 0u && selection[FIRST_TOKEN] != NONE) { destination[0] = i32(selection[FIRST_TOKEN]); }
}`;
}

/** One kernel of the selection: its key suffix, the access of its storage bindings (from binding 1) and its code. */
interface SelectKernel {
  readonly name: string;
  readonly storage: StorageAccess[];
  readonly code: () => string;
}

const HISTOGRAM: SelectKernel = { name: 'histogram', storage: ['read', 'read', 'write', 'write'], code: histogramWgsl };
const CHOOSE: SelectKernel = { name: 'choose', storage: ['read', 'read', 'write', 'read'], code: chooseWgsl };
const STORE: SelectKernel = { name: 'store', storage: ['read', 'read', 'write'], code: storeWgsl };

/** What {@link radixSelect} works on: the scaled scores, the sampling state and the output of `sampleToken`. */
export interface RadixSelection {
  /** f32 `[vocabulary]`: the scores after penalties, biases and temperature. */
  readonly work: GpuTensor;
  /** `[largest scaled score (f32 bits), decided]`. */
  readonly state: GpuTensor;
  /** i32 `[1]`: the greedy token, replaced by the drawn one unless an earlier kernel decided. */
  readonly destination: GpuTensor;
}

/**
 * Records the bisections of `sampleToken` that `parameters` need (top-k when it is above 1 and below the vocabulary,
 * top-p below 1, always the draw), each as 8 levels of one pass (the reduce of the level before, then a histogram),
 * then the pass that reduces the last level and finds the first token with the drawn key, and the store into
 * `destination`. Every kernel returns at once when `state` says an earlier kernel decided.
 */
export function radixSelect(
  runtime: GpuRuntime,
  tensors: RadixSelection,
  vocabulary: number,
  parameters: SamplingParameters,
): void {
  const slices = Math.ceil(vocabulary / SLICE);
  const initial = new Int32Array(SELECTION_WORDS);
  initial[0] = FINITE_FLOOR;
  initial[SLOT_WORDS] = FINITE_FLOOR;
  initial[2 * SLOT_WORDS] = -1; // NONE: no token found yet
  const selection = runtime.upload(initial, [SELECTION_WORDS]);
  const partial = runtime.allocate('f32', [2 * slices * DIGITS]);
  const stages = [
    parameters.topK > 1 && parameters.topK < vocabulary ? 0 : undefined,
    parameters.topP < 1 ? 1 : undefined,
    2,
  ].filter((stage) => stage !== undefined);
  // Every level of every bisection, then the choice (the draw's stage at shift 0).
  const levels = [...stages.flatMap((stage) => SHIFTS.map((shift) => ({ stage, shift }))), { stage: 2, shift: 0 }];
  const { work, state, destination } = tensors;
  const binding = (tensor: GpuTensor): BufferBinding => ({ tracked: tensor.tracked });
  levels.forEach(({ stage, shift }, index) => {
    const previous = levels[index - 1];
    const last = index === levels.length - 1;
    const words = new Uniforms()
      .u(vocabulary)
      .u(slices)
      .u(stage)
      .u(shift)
      .u(previous?.stage ?? 0)
      .u(previous?.shift ?? -1)
      .u(index % 2)
      .u(parameters.topK)
      .f(parameters.topP)
      .f(parameters.minP)
      .f(parameters.random).words;
    const kernels = last ? [CHOOSE, STORE] : [HISTOGRAM];
    for (const kernel of kernels) {
      runtime.dispatch({
        shader: { key: `sample-token:select-${kernel.name}`, storage: kernel.storage, code: kernel.code },
        uniforms: words,
        buffers: (kernel === STORE ? [state, selection, destination] : [work, state, selection, partial]).map(binding),
        workgroups: linearGrid(kernel === STORE ? 1 : slices),
      });
    }
  });
  runtime.release(selection);
  runtime.release(partial);
}
