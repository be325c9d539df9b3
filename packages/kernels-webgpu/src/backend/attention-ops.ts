import {
  type AttentionOptions,
  checkPagedPoolSize,
  type KeyValueCache,
  type KeyValuePrecision,
  type PagedAttentionOptions,
  type PagedBatch,
  type PagedKeyValueCache,
  Q8_0_BLOCK_SIZE,
  type RopeParameters,
  StrataError,
  type Tensor,
} from '@strata/core';
import { attention } from '../kernels/attention/attention.js';
import {
  pagedAttention,
  ropeAndWritePagedKeyValues,
  writePagedKeyValues,
} from '../kernels/attention/paged-attention.js';
import { rope } from '../kernels/attention/rope.js';
import { ropeAndWriteKeyValues } from '../kernels/attention/rope-and-write.js';
import { writeKeyValues } from '../kernels/attention/write-key-values.js';
import { WebGpuElementWiseOps } from './element-wise-ops.js';

/**
 * The attention ops of {@link WebGpuBackend}: KV caches (contiguous and paged), rotary embeddings, cache writes and
 * flash attention over either cache.
 */
export abstract class WebGpuAttentionOps extends WebGpuElementWiseOps {
  // ── KV caches ────────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.createKeyValueCache}: an `'f16'` cache is stored as halves (two per word; half the bytes of f32),
   * written by the cache-write kernels and read by attention directly. `width` must be even for that (heads of even
   * size); an odd width keeps f32 storage and rounds. A `'q8_0'` cache is stored as q8_0 tensors (the int8 quants,
   * then each row's f16 scales; 34 bytes per 32 values), quantized by the cache-write kernels and read by attention
   * directly; `width` must be a multiple of 32 (`SHAPE_MISMATCH` otherwise).
   */
  createKeyValueCache(capacity: number, width: number, precision: KeyValuePrecision = 'f32'): KeyValueCache {
    if (precision === 'q8_0' && !(Number.isInteger(width) && width > 0 && width % Q8_0_BLOCK_SIZE === 0)) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `A q8_0 KV cache needs rows of whole blocks of ${Q8_0_BLOCK_SIZE} values; rows of ${width} are not (use heads of a multiple of 32 dimensions, or an f16/f32 cache).`,
        { details: { width } },
      );
    }
    const dtype = precision === 'q8_0' ? 'q8_0' : precision === 'f16' && width % 2 === 0 ? 'f16' : 'f32';
    const make = () => {
      const tensor = this.runtime.allocate(dtype, [capacity, width]);
      this.runtime.recorder.clear(tensor.tracked, 0, Math.ceil(Math.max(4, tensor.byteLength) / 4) * 4);
      return tensor;
    };
    return { keys: make(), values: make(), ...(precision === 'f32' ? {} : { precision }) };
  }

  /**
   * {@link Backend.createPagedKeyValueCache}: one `createKeyValueCache` of `pages · pageSize` rows (f16 stored as
   * halves where the width is even), so a pool must fit one storage binding per keys and values; `OUT_OF_MEMORY`
   * otherwise.
   */
  createPagedKeyValueCache(
    pages: number,
    pageSize: number,
    width: number,
    precision: KeyValuePrecision = 'f32',
  ): PagedKeyValueCache {
    checkPagedPoolSize(pages, pageSize);
    return { storage: this.createKeyValueCache(pages * pageSize, width, precision), pages, pageSize };
  }

  // ── attention ─────────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.rope}, one invocation per element, `pairing` choosing adjacent or half-split pairs. Throws
   * `SHAPE_MISMATCH` when the input is not 2-D with whole heads of `headDimensions`, the rotary dimensions are odd or
   * exceed the head, or there are fewer than `rotaryDimensions / 2` inverse frequencies.
   */
  rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor {
    return rope(this.runtime, input, firstPosition, parameters);
  }

  /**
   * {@link Backend.writeKeyValues}: records a kernel that writes row `position mod capacity` of the cache (rounded to
   * half precision first when `cache.precision` is `'f16'`); of more rows than the capacity only the last `capacity`
   * are written. Throws `SHAPE_MISMATCH` when keys, values and cache widths disagree, `INVALID_ARGUMENT` for an
   * unknown precision.
   */
  writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void {
    writeKeyValues(this.runtime, cache, keys, values, firstPosition);
  }

  /** {@link Backend.ropeAndWriteKeyValues}: one dispatch for both rotations and the cache write. */
  ropeAndWriteKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: KeyValueCache,
    firstPosition: number,
    parameters: RopeParameters,
  ): Tensor {
    return ropeAndWriteKeyValues(this.runtime, queries, keys, values, cache, firstPosition, parameters);
  }

  /**
   * {@link Backend.attention} in one pass over the keys with an online softmax (flash attention): each workgroup
   * shares key/value tiles among query rows and the heads of one GQA group, and splits the keys over workgroups (a
   * second pass combines them) when there are few queries, as in decode. Throws `SHAPE_MISMATCH` when the queries,
   * head counts and cache do not fit together, or a head does not fit the GPU's workgroup memory.
   */
  attention(queries: Tensor, cache: KeyValueCache, options: AttentionOptions): Tensor {
    return attention(this.runtime, queries, cache, options);
  }

  /** {@link Backend.writePagedKeyValues}: one invocation per element (per pair for halves), at each row's slot. */
  writePagedKeyValues(cache: PagedKeyValueCache, keys: Tensor, values: Tensor, batch: PagedBatch): void {
    writePagedKeyValues(this.runtime, cache, keys, values, batch);
  }

  /** {@link Backend.ropeAndWritePagedKeyValues}: one dispatch, each row rotated at its own position. */
  ropeAndWritePagedKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    parameters: RopeParameters,
  ): Tensor {
    return ropeAndWritePagedKeyValues(this.runtime, queries, keys, values, cache, batch, parameters);
  }

  /**
   * {@link Backend.pagedAttention}: the flash-attention kernel of {@link WebGpuBackend.attention} over every
   * sequence's rows in one dispatch, its blocks never spanning two sequences and its keys read through each
   * sequence's page table (plus the combine pass when the keys are split).
   */
  pagedAttention(
    queries: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    options: PagedAttentionOptions,
  ): Tensor {
    return pagedAttention(this.runtime, queries, cache, batch, options);
  }
}
