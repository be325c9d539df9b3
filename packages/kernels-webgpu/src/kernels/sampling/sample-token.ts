import { type SamplingParameters, StrataError, type Tensor, validateSamplingParameters } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { BufferBinding } from '../../runtime/recorder.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { SPLIT_FROM_COLUMNS } from './argmax.js';
import { radixSelect } from './radix-select.js';
import { prepareInSlices } from './sampling-prepare.js';
import { CANDIDATE_CAPACITY, PREPARE_STORAGE, type SamplingStage, samplingShader } from './sampling-shader.js';
import { TOP_K_BOUND, topKInSlices } from './top-k-slices.js';

/**
 * Samples one token from the last row of `logits` on the device, in the order allowed-token mask (one bitmask upload)
 * → penalties → logit bias → temperature →
 * top-k → top-p → min-p (see `SamplingParameters`, `samplingShader`, and `topKInSlices` for top-k ≤ 256). Only the
 * chosen id (i32 `[1]`) needs reading back.
 */
export function sampleToken(runtime: GpuRuntime, logits: Tensor, parameters: SamplingParameters): GpuTensor {
  const source = runtime.tensor(logits, 'f32', 'logits');
  const vocabulary = source.shape[source.shape.length - 1] ?? 0;
  const rows = vocabulary === 0 ? 0 : source.size / vocabulary;
  if (rows === 0 || source.shape.length > 2) {
    throw new StrataError('SHAPE_MISMATCH', `sampleToken: logits [${source.shape.join(', ')}] have no row to sample.`);
  }
  validateSamplingParameters(parameters, vocabulary);
  const list = (data: Int32Array | Float32Array) =>
    data.length === 0 ? undefined : runtime.upload(data, [data.length]);
  const penaltyTokens = list(parameters.penaltyTokens);
  const penaltyCounts = list(parameters.penaltyCounts);
  const biasTokens = list(parameters.logitBiasTokens);
  const biasValues = list(parameters.logitBiasValues);
  const allowed = parameters.allowedTokens;
  const mask =
    allowed === undefined
      ? undefined
      : runtime.upload(new Int32Array(allowed.buffer, allowed.byteOffset, Math.ceil(vocabulary / 32)), [
          Math.ceil(vocabulary / 32),
        ]);
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
    .f(parameters.random)
    .u(mask === undefined ? 0 : 1).words;
  const stage = (name: SamplingStage, buffers: BufferBinding[]) =>
    runtime.dispatch({
      shader: {
        key: `sample-token:${name}:sg=${subgroups ? 1 : 0}`,
        storage: name === 'prepare' ? PREPARE_STORAGE : ['read', 'write', 'write'],
        code: () => samplingShader(name, subgroups),
      },
      uniforms,
      buffers,
      workgroups: [1],
    });
  const prepare = [
    { tracked: source.tracked },
    { tracked: penaltyTokens?.tracked ?? runtime.emptyBuffer },
    { tracked: penaltyCounts?.tracked ?? runtime.emptyBuffer },
    { tracked: biasTokens?.tracked ?? runtime.emptyBuffer },
    { tracked: biasValues?.tracked ?? runtime.emptyBuffer },
    { tracked: work.tracked },
    { tracked: state.tracked },
    { tracked: output.tracked },
    { tracked: mask?.tracked ?? runtime.emptyBuffer },
  ];
  // A vocabulary runs the first step over many workgroups; a short row in the one kernel.
  if (vocabulary >= SPLIT_FROM_COLUMNS) prepareInSlices(runtime, prepare, work, uniforms, parameters.temperature);
  else stage('prepare', prepare);
  // Greedy (temperature 0, or top-k 1) is decided by the first kernel; the others run only where they can apply.
  if (parameters.temperature > 0 && parameters.topK !== 1) {
    const rest = [{ tracked: work.tracked }, { tracked: state.tracked }, { tracked: output.tracked }];
    const tensors = { work, state, destination: output };
    // Top-p or min-p without top-k keeps an unknown number of tokens (more than the candidates hold on flat
    // distributions, and the one-workgroup fallback then walks the vocabulary ~33 times per threshold): over a
    // vocabulary the selection over many workgroups runs instead.
    const open =
      parameters.topK === 0 && (parameters.topP < 1 || parameters.minP > 0) && vocabulary < SPLIT_FROM_COLUMNS;
    if (parameters.topK > 0 && parameters.topK <= TOP_K_BOUND) {
      // Top-k up to the bound: the k best of each slice, merged down to k, then the draw over them (exact: no fallback).
      topKInSlices(runtime, tensors, parameters, subgroups);
    } else if ((parameters.topK > 0 && parameters.topK <= CANDIDATE_CAPACITY) || open) {
      // The candidates kernel usually decides; the one-workgroup bisection is its fallback (it returns at once then).
      stage('candidates', rest);
      stage('bisect', rest);
    } else {
      radixSelect(runtime, tensors, vocabulary, parameters);
    }
  }
  for (const scratch of [penaltyTokens, penaltyCounts, biasTokens, biasValues, mask, work, state]) {
    if (scratch !== undefined) runtime.release(scratch);
  }
  return output;
}
