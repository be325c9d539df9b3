import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, type StorageAccess, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { argmax } from './argmax.js';
import { PREPARE_BINDINGS, PREPARE_FUNCTIONS, PREPARE_STORAGE, SAMPLING_COMMON } from './sampling-shader.js';

// The first step of `sampleToken` over a vocabulary long enough to split (the `prepare` kernel's work, which one
// workgroup does in a serial chain over every logit): the masked copy over many workgroups, the penalties and biases by
// one invocation, the greedy choice by `argmax` in slices, its token and scaled score into the state by one
// invocation, and the temperature over many workgroups. The same arithmetic in the same order as `prepare`.

/** Invocations per workgroup of the element-wise steps. */
const WORKGROUP = 256;

/** The steps' storage bindings: those of the `prepare` kernel, then the greedy token. */
const STORAGE: StorageAccess[] = [...PREPARE_STORAGE, 'read'];

type Step = 'copy' | 'penalties' | 'settle' | 'scale';

function stepWgsl(step: Step): string {
  const opening = `${SAMPLING_COMMON}
${PREPARE_BINDINGS}
@group(0) @binding(10) var<storage, read> best: array<i32>;
${PREPARE_FUNCTIONS}
${WGSL_LINEAR_GROUP}`;
  if (step === 'penalties' || step === 'settle') {
    const body =
      step === 'penalties'
        ? '  apply_penalties();'
        : `  // The greedy token is the answer at temperature 0 and the fallback of the later kernels.
  let token = u32(best[0]);
  destination[0] = i32(token);
  state[1] = select(0u, 1u, params.temperature <= 0.0);
  if (params.temperature > 0.0) { state[0] = bitcast<u32>(work[token] / params.temperature); }`;
    return `${opening}
@compute @workgroup_size(1)
fn main() {
${body}
}`;
  }
  const statement =
    step === 'copy' ? 'work[token] = masked_logit(token);' : 'work[token] = work[token] / params.temperature;';
  return `${opening}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let token = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (token < params.vocabulary) { ${statement} }
}`;
}

/**
 * Records the `prepare` step of `sampleToken` over many workgroups: `buffers` are the `prepare` kernel's bindings
 * (logits, penalty tokens and counts, bias tokens and values, work, state, destination, allowed bitmask), `work` the
 * f32 `[vocabulary]` scores and `uniforms` the sampling uniforms. Scales the scores only at a positive temperature.
 */
export function prepareInSlices(
  runtime: GpuRuntime,
  buffers: readonly BufferBinding[],
  work: GpuTensor,
  uniforms: Uint32Array,
  temperature: number,
): void {
  const vocabulary = work.shape[0]!;
  const dispatch = (step: Step, groups: number, best?: GpuTensor) =>
    runtime.dispatch({
      shader: { key: `sample-token:prepare-${step}`, storage: STORAGE, code: () => stepWgsl(step) },
      uniforms,
      buffers: [...buffers, { tracked: best?.tracked ?? runtime.emptyBuffer }],
      workgroups: linearGrid(groups),
    });
  const spread = Math.ceil(vocabulary / WORKGROUP);
  dispatch('copy', spread);
  dispatch('penalties', 1);
  const best = argmax(runtime, work);
  dispatch('settle', 1, best);
  if (temperature > 0) dispatch('scale', spread);
  runtime.release(best);
}
