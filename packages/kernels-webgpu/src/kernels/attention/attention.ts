import { type AttentionOptions, type KeyValueCache, Q8_0_BLOCK_SIZE, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { recordAttention } from './attention-kernel.js';
import { type AttentionTuning, DEFAULT_ATTENTION_TUNING, planAttention } from './attention-plan.js';
import { dispatchDecodeAttention, dispatchDecodeCombine, planDecodeAttention } from './decode-attention.js';

/**
 * Causal attention of `queries` `[rows, heads · headDimensions]` over the cache, which already holds these rows' keys
 * and values (ring rows `position mod capacity`): one pass over the keys with an online softmax (flash attention).
 * Each workgroup shares its key/value tiles among several query rows and the query heads of one GQA group; when that
 * leaves the GPU idle (decode), the keys are split over workgroups and a second pass combines their softmax states.
 */
export function attention(
  runtime: GpuRuntime,
  queries: Tensor,
  cache: KeyValueCache,
  options: AttentionOptions,
  tuning: AttentionTuning = DEFAULT_ATTENTION_TUNING,
): GpuTensor {
  const query = runtime.tensor(queries, 'f32', 'queries');
  const keys = runtime.tensor(cache.keys, undefined, 'key cache');
  const values = runtime.tensor(cache.values, keys.dtype, 'value cache');
  const elements = keys.dtype;
  if (elements !== 'f32' && elements !== 'f16' && elements !== 'q8_0') {
    throw new StrataError('DTYPE_MISMATCH', `attention: the KV cache must hold f32, f16 or q8_0, got ${keys.dtype}.`);
  }
  const { heads, keyValueHeads, headDimensions, firstPosition } = options;
  if (elements === 'q8_0' && headDimensions % Q8_0_BLOCK_SIZE !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: a q8_0 cache needs heads of a multiple of ${Q8_0_BLOCK_SIZE} dimensions (its blocks lie within a head), got ${headDimensions}; use an f16 or f32 cache.`,
      { details: { headDimensions } },
    );
  }
  const [rows = 0, columns = 0] = query.shape;
  const [capacity = 0, cacheWidth = 0] = keys.shape;
  if (
    query.shape.length !== 2 ||
    !Number.isInteger(heads) ||
    !Number.isInteger(keyValueHeads) ||
    columns !== heads * headDimensions ||
    keyValueHeads <= 0 ||
    heads % keyValueHeads !== 0 ||
    keys.shape.length !== 2 ||
    cacheWidth !== keyValueHeads * headDimensions ||
    values.shape[0] !== capacity ||
    values.shape[1] !== cacheWidth ||
    capacity === 0
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: queries [${query.shape.join(', ')}] with ${heads} heads of ${headDimensions} and ${keyValueHeads} key/value heads do not fit the cache [${keys.shape.join(', ')}].`,
    );
  }
  if (rows === 0) return runtime.allocate('f32', query.shape);
  const firstKeyAt = (position: number) => Math.max(0, position + rows - capacity);
  // A captured step replays at every position: its split count (a workgroup count) must not depend on the position,
  // so it is planned for the most keys the cache can show; splits past the keys of a step find no work.
  const capturing = runtime.recorder.capture !== undefined;
  const visibleKeys = Math.min(
    capturing ? capacity : firstPosition + rows - firstKeyAt(firstPosition),
    options.window ?? Number.POSITIVE_INFINITY,
  );
  // The one-row kernel reads every cache type (f32, f16, q8_0).
  const decode = planDecodeAttention(
    { rows, heads, keyValueHeads, headDimensions, keys: visibleKeys },
    runtime.limits.maxComputeWorkgroupStorageSize,
    runtime.tuning.decodeAttentionMinKeysPerSplit,
    runtime.tuning.decodeAttentionTargetWorkgroups,
  );
  if (decode !== undefined) {
    const output = runtime.allocate('f32', query.shape);
    const partialValues =
      decode.splits > 1 ? runtime.allocate('f32', [heads * decode.splits, headDimensions]) : undefined;
    const partialState = decode.splits > 1 ? runtime.allocate('f32', [heads * decode.splits, 2]) : undefined;
    const tensors = { query, keys, values, target: partialValues ?? output };
    dispatchDecodeAttention(
      runtime,
      partialState === undefined ? tensors : { ...tensors, partialState },
      options,
      capacity,
      decode,
    );
    if (partialValues !== undefined && partialState !== undefined) {
      dispatchDecodeCombine(runtime, { partialValues, partialState, output }, options, capacity, decode);
      runtime.release(partialValues);
      runtime.release(partialState);
    }
    return output;
  }
  const plan = planAttention(
    { rows, heads, keyValueHeads, headDimensions, keys: visibleKeys },
    runtime.limits.maxComputeWorkgroupStorageSize,
    tuning,
  );
  return recordAttention(runtime, {
    addressing: 'ring',
    plan,
    queryBlocks: Math.ceil(rows / plan.rowsPerBlock),
    scalars: {
      rows,
      heads,
      keyValueHeads,
      headDimensions,
      capacity,
      pageSize: 0,
      window: options.window ?? 0,
      scale: options.scale,
      softcap: options.softcap !== undefined && options.softcap > 0 ? options.softcap : 0,
      sequences: 0,
      tableWidth: 0,
    },
    firstPosition,
    firstKeyAt,
    queries: query,
    keys,
    values,
  });
}
