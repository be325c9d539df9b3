import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { ATTENTION_PARAMS } from './attention-params.js';

/** WGSL of the combine pass: per query head and dimension, the partial results merged by their softmax states. */
const COMBINE_SHADER = /* wgsl */ `${ATTENTION_PARAMS}
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
 * The second pass of split attention: merges the softmax states of `splits` partial results per query head into the
 * output, then hands the partial buffers back to the pool. Uniforms in the attention kernel's layout (the head size in
 * the capacity slot). Used by the tiled kernel of both addressings and by the one-row decode kernel.
 */
export function combineSplits(
  runtime: GpuRuntime,
  tensors: { partialValues: GpuTensor; partialState: GpuTensor; output: GpuTensor },
  shape: { rows: number; heads: number; headDimensions: number; splits: number },
): void {
  const { partialValues, partialState, output } = tensors;
  const { rows, heads, headDimensions, splits } = shape;
  runtime.dispatch({
    shader: { key: 'attention-combine', storage: ['read', 'read', 'write'], code: () => COMBINE_SHADER },
    uniforms: new Uniforms().u(rows).u(heads).u(0).u(0).u(headDimensions).u(0).u(0).f(0).f(0).u(splits).u(0).u(0).u(0)
      .words,
    buffers: [{ tracked: partialValues.tracked }, { tracked: partialState.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil((rows * heads * headDimensions) / 256)),
  });
  runtime.release(partialValues);
  runtime.release(partialState);
}
