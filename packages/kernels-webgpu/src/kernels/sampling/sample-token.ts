import { type SamplingParameters, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { BufferBinding } from '../../runtime/recorder.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { CANDIDATE_CAPACITY, type SamplingStage, samplingShader } from './sampling-shader.js';

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

/**
 * Samples one token from the last row of `logits` on the device, in the order penalties → logit bias → temperature →
 * top-k → top-p → min-p (see `SamplingParameters` and `samplingShader`). Only the chosen id (i32 `[1]`) needs reading
 * back.
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
  const state = runtime.allocate('i32', [2]);
  const output = runtime.allocate('i32', [1]);
  const subgroups = runtime.features.subgroups;
  const uniforms = new Uniforms()
    .u(vocabulary)
    .u((rows - 1) * vocabulary)
    .u(parameters.penaltyTokens.length)
    .u(parameters.logitBiasTokens.length)
    .f(parameters.repetitionPenalty)
    .f(parameters.presencePenalty)
    .f(parameters.frequencyPenalty)
    .f(parameters.temperature)
    .u(parameters.topK)
    .f(parameters.topP)
    .f(parameters.minP)
    .f(parameters.random).words;
  const stage = (name: SamplingStage, buffers: BufferBinding[]) =>
    runtime.dispatch({
      shader: {
        key: `sample-token:${name}:sg=${subgroups ? 1 : 0}`,
        storage:
          name === 'prepare'
            ? ['read', 'read', 'read', 'read', 'read', 'write', 'write', 'write']
            : ['read', 'write', 'write'],
        code: () => samplingShader(name, subgroups),
      },
      uniforms,
      buffers,
      workgroups: [1],
    });
  stage('prepare', [
    { tracked: source.tracked },
    { tracked: penaltyTokens?.tracked ?? runtime.emptyBuffer },
    { tracked: penaltyCounts?.tracked ?? runtime.emptyBuffer },
    { tracked: biasTokens?.tracked ?? runtime.emptyBuffer },
    { tracked: biasValues?.tracked ?? runtime.emptyBuffer },
    { tracked: work.tracked },
    { tracked: state.tracked },
    { tracked: output.tracked },
  ]);
  // Greedy (temperature 0, or top-k 1) is decided by the first kernel; the others run only where they can apply.
  if (parameters.temperature > 0 && parameters.topK !== 1) {
    const rest = [{ tracked: work.tracked }, { tracked: state.tracked }, { tracked: output.tracked }];
    const open = parameters.topK === 0 && (parameters.topP < 1 || parameters.minP > 0);
    if ((parameters.topK > 0 && parameters.topK <= CANDIDATE_CAPACITY) || open) stage('candidates', rest);
    stage('bisect', rest);
  }
  for (const scratch of [penaltyTokens, penaltyCounts, biasTokens, biasValues, work, state]) {
    if (scratch !== undefined) runtime.release(scratch);
  }
  return output;
}
