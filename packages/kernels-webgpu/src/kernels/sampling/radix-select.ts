import type { SamplingParameters } from '@strata/core';
import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, type StorageAccess, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { FINITE_FLOOR, KEY_OF_WGSL } from './sampling-shader.js';

// The thresholds of `sampleToken` where no candidates kernel runs (plain temperature sampling, top-k above 1024, top-p
// or min-p without top-k over a vocabulary of 8,192 or more), selected over the whole vocabulary by many workgroups.
// For each bisection (top-k, top-p, the draw), the largest float key whose kept mass at or above it passes the test is
// found 4 bits at a time, from the top:
// - a histogram pass, one workgroup per slice of 1,024 scores: the kept mass per value of the next digit among the
//   scores that share the digits found so far (one invocation per digit value and sub-slice of 64 scores adds up that
//   digit's mass in score order, then the sub-slices are added in order);
// - a reduce pass, one workgroup: the slices' histograms added in a fixed order, then the largest digit whose mass,
//   with the mass above it, passes.
// Eight levels per bisection; then one pass finds the first token with the drawn key. Every sum has a fixed order, so
// a draw repeats exactly. (One workgroup walked the whole vocabulary about 33 times per bisection before.)

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

/** Words of the selection state: floor, prefix, mass above the prefix (f32), target (f32), chosen key, first token. */
const SELECTION_WORDS = 6;

const PARAMS = /* wgsl */ `struct Params {
  vocabulary: u32, slices: u32, stage: u32, shift: u32, top_k: u32, top_p: f32, min_p: f32, random: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
const NONE = 0xffffffffu;
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

function histogramWgsl(): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> work: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read> selection: array<u32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
var<workgroup> sums: array<f32, ${WORKGROUP}>;
${FLOOR}
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
${UNLESS_DECIDED}
  let slice = linear_group(group, groups);
  if (slice >= params.slices) { return; }
  let top = bitcast<f32>(state[0]);
  let floor = stage_floor(selection[0], top);
  let prefix = selection[1];
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
    partial[slice * ${DIGITS}u + li] = total;
  }
}`;
}

function reduceWgsl(): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> selection: array<u32>;
@group(0) @binding(3) var<storage, read> partial: array<f32>;
var<workgroup> sums: array<f32, ${WORKGROUP}>;
var<workgroup> histogram: array<f32, ${DIGITS}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) li: u32) {
${UNLESS_DECIDED}
  // Invocation li adds digit li % ${DIGITS} of every ${SUBSLICES}th slice from slice li / ${DIGITS}; the first ${DIGITS} add
  // those shares in order.
  var mass = 0.0;
  for (var slice = li / ${DIGITS}u; slice < params.slices; slice += ${SUBSLICES}u) {
    mass += partial[slice * ${DIGITS}u + li % ${DIGITS}u];
  }
  sums[li] = mass;
  workgroupBarrier();
  if (li < ${DIGITS}u) {
    var total = 0.0;
    for (var share = 0u; share < ${SUBSLICES}u; share++) { total += sums[share * ${DIGITS}u + li]; }
    histogram[li] = total;
  }
  workgroupBarrier();
  if (li != 0u) { return; }
  let first = params.shift == ${SHIFTS[0]}u;
  var target_value = bitcast<f32>(selection[3]);
  if (first) {
    // The kept total (every kept score is in the first level's histogram) gives the bisection's target.
    var total = 0.0;
    for (var digit = 0u; digit < ${DIGITS}u; digit++) { total += histogram[digit]; }
    target_value = params.random * total;
    if (params.stage == 0u) { target_value = f32(params.top_k); }
    if (params.stage == 1u) { target_value = params.top_p * total; }
    selection[3] = bitcast<u32>(target_value);
  }
  // The largest digit whose mass at or above it (with the mass above the prefix) exceeds the target (reaches it, for
  // top-k and top-p): the keys at or above prefix | digit.
  var above = select(bitcast<f32>(selection[2]), 0.0, first);
  var prefix = select(selection[1], 0u, first);
  var chosen = 0u;
  for (var digit = ${DIGITS - 1}i; digit >= 0i; digit--) {
    let next = above + histogram[digit];
    if (next > target_value || (params.stage != 2u && next == target_value)) {
      chosen = u32(digit);
      break;
    }
    above = next;
  }
  prefix = prefix | (chosen << params.shift);
  selection[1] = prefix;
  selection[2] = bitcast<u32>(above);
  if (params.shift == 0u) {
    if (params.stage == 2u) { selection[4] = prefix; } else { selection[0] = max(selection[0], prefix); }
  }
}`;
}

function chooseWgsl(): string {
  return /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> work: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> selection: array<atomic<u32>>;
${FLOOR}
${WGSL_LINEAR_GROUP}
var<workgroup> first_token: atomic<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  if (li == 0u) { decided = state[1]; atomicStore(&first_token, NONE); }
  if (workgroupUniformLoad(&decided) != 0u) { return; }
  let slice = linear_group(group, groups);
  if (slice >= params.slices) { return; }
  let floor = stage_floor(atomicLoad(&selection[0]), bitcast<f32>(state[0]));
  let chosen = atomicLoad(&selection[4]);
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
    if (token != NONE) { atomicMin(&selection[5], token); }
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
  if (state[1] == 0u && selection[5] != NONE) { destination[0] = i32(selection[5]); }
}`;
}

/** One kernel of the selection: its key suffix, the access of its storage bindings (from binding 1) and its code. */
interface SelectKernel {
  readonly name: string;
  readonly storage: StorageAccess[];
  readonly code: () => string;
}

const HISTOGRAM: SelectKernel = { name: 'histogram', storage: ['read', 'read', 'read', 'write'], code: histogramWgsl };
const REDUCE: SelectKernel = { name: 'reduce', storage: ['read', 'write', 'read'], code: reduceWgsl };
const CHOOSE: SelectKernel = { name: 'choose', storage: ['read', 'read', 'write'], code: chooseWgsl };
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
 * top-p below 1, always the draw), each as 8 levels of a histogram and a reduce pass, then the pass that finds the
 * first token with the drawn key and the store into `destination`. Every kernel returns at once when `state` says an
 * earlier kernel decided.
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
  initial[5] = -1; // NONE: no token found yet
  const selection = runtime.upload(initial, [SELECTION_WORDS]);
  const partial = runtime.allocate('f32', [slices * DIGITS]);
  const uniforms = (stage: number, shift: number) =>
    new Uniforms()
      .u(vocabulary)
      .u(slices)
      .u(stage)
      .u(shift)
      .u(parameters.topK)
      .f(parameters.topP)
      .f(parameters.minP)
      .f(parameters.random).words;
  const binding = (tensor: GpuTensor): BufferBinding => ({ tracked: tensor.tracked });
  const dispatch = (kernel: SelectKernel, buffers: GpuTensor[], words: Uint32Array, groups: number) =>
    runtime.dispatch({
      shader: { key: `sample-token:select-${kernel.name}`, storage: kernel.storage, code: kernel.code },
      uniforms: words,
      buffers: buffers.map(binding),
      workgroups: linearGrid(groups),
    });
  const stages = [
    parameters.topK > 1 && parameters.topK < vocabulary ? 0 : undefined,
    parameters.topP < 1 ? 1 : undefined,
    2,
  ].filter((stage) => stage !== undefined);
  const { work, state, destination } = tensors;
  for (const stage of stages) {
    for (const shift of SHIFTS) {
      const words = uniforms(stage, shift);
      dispatch(HISTOGRAM, [work, state, selection, partial], words, slices);
      dispatch(REDUCE, [state, selection, partial], words, 1);
    }
  }
  const words = uniforms(2, 0);
  dispatch(CHOOSE, [work, state, selection], words, slices);
  dispatch(STORE, [state, selection, destination], words, 1);
  runtime.release(selection);
  runtime.release(partial);
}
