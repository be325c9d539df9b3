import { type ExpertRouting, type ExpertRoutingOptions, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

const WORKGROUP = 64;

/**
 * Softmax over router logits `[rows, experts]`, then the top-k experts per row (best first, lower index on ties),
 * optionally renormalised. One invocation per row: expert counts are small.
 */
export function routeExperts(runtime: GpuRuntime, logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
  const source = runtime.tensor(logits, 'f32', 'router logits');
  const [rows = 0, experts = 0] = source.shape;
  const { topK, normalize } = options;
  if (source.shape.length !== 2 || !Number.isInteger(topK) || topK < 1 || topK > experts) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `routeExperts: top-${topK} of router logits [${source.shape.join(', ')}] is not possible.`,
    );
  }
  const chosen = runtime.allocate('i32', [rows, topK]);
  const weights = runtime.allocate('f32', [rows, topK]);
  if (rows === 0) return { experts: chosen, weights };
  const maskWords = Math.ceil(experts / 32);
  runtime.dispatch({
    shader: {
      key: `route-experts:mask=${maskWords}:norm=${normalize ? 1 : 0}`,
      storage: ['read', 'write', 'write'],
      code: () => /* wgsl */ `
struct Params { rows: u32, experts: u32, top_k: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> chosen: array<i32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (row >= params.rows) { return; }
  let base = row * params.experts;
  var best = logits[base];
  for (var expert = 1u; expert < params.experts; expert++) { best = max(best, logits[base + expert]); }
  var total = 0.0;
  for (var expert = 0u; expert < params.experts; expert++) { total += exp(logits[base + expert] - best); }
  var taken: array<u32, ${maskWords}>;
  var kept = 0.0;
  for (var slot = 0u; slot < params.top_k; slot++) {
    var pick = 0u;
    var pick_value = -3.402823e38;
    var found = false;
    for (var expert = 0u; expert < params.experts; expert++) {
      if ((taken[expert / 32u] & (1u << (expert % 32u))) != 0u) { continue; }
      let value = logits[base + expert];
      if (!found || value > pick_value) { pick = expert; pick_value = value; found = true; }
    }
    taken[pick / 32u] |= 1u << (pick % 32u);
    let probability = exp(pick_value - best) / total;
    chosen[row * params.top_k + slot] = i32(pick);
    weights[row * params.top_k + slot] = probability;
    kept += probability;
  }
  ${
    normalize
      ? `for (var slot = 0u; slot < params.top_k; slot++) { weights[row * params.top_k + slot] /= kept; }`
      : '_ = kept;'
  }
}`,
    },
    uniforms: new Uniforms().u(rows).u(experts).u(topK).words,
    buffers: [{ tracked: source.tracked }, { tracked: chosen.tracked }, { tracked: weights.tracked }],
    workgroups: linearGrid(Math.ceil(rows / WORKGROUP)),
  });
  return { experts: chosen, weights };
}

/** Per row, the sum of its `topK` slot rows of `slots` `[rows · topK, columns]` weighted by `weights` `[rows, topK]`. */
export function combineExperts(runtime: GpuRuntime, slots: Tensor, weights: Tensor): GpuTensor {
  const slotRows = runtime.tensor(slots, 'f32', 'expert slots');
  const slotWeights = runtime.tensor(weights, 'f32', 'expert weights');
  const [rows = 0, topK = 0] = slotWeights.shape;
  const [slotCount = 0, columns = 0] = slotRows.shape;
  if (slotRows.shape.length !== 2 || slotWeights.shape.length !== 2 || slotCount !== rows * topK) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `combineExperts: slots [${slotRows.shape.join(', ')}] are not [rows · topK, columns] for weights [${slotWeights.shape.join(', ')}].`,
    );
  }
  const output = runtime.allocate('f32', [rows, columns]);
  const count = rows * columns;
  if (count === 0) return output;
  runtime.dispatch({
    shader: {
      key: 'combine-experts',
      storage: ['read', 'read', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, columns: u32, top_k: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> slots: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * 256u + li;
  if (index >= params.count) { return; }
  let row = index / params.columns;
  let column = index - row * params.columns;
  var sum = 0.0;
  for (var slot = 0u; slot < params.top_k; slot++) {
    let slot_row = row * params.top_k + slot;
    sum += weights[slot_row] * slots[slot_row * params.columns + column];
  }
  destination[index] = sum;
}`,
    },
    uniforms: new Uniforms().u(count).u(columns).u(topK).words,
    buffers: [{ tracked: slotRows.tracked }, { tracked: slotWeights.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(count / 256)),
  });
  return output;
}
