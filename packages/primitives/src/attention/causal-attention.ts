import {
  type Backend,
  type InputNorm,
  type KeyValueCache,
  type PagedAttentionOptions,
  type PagedBatch,
  type PagedKeyValueCache,
  type RopeParameters,
  StrataError,
  type Tensor,
} from '@strata/core';
import type { BranchFusion } from '../block/branch-fusion.js';
import { type AttentionProjections, type ProjectionGroup, projectionGroups } from './attention-projections.js';
import type { Norm } from '../layers/norm.js';

export type {
  AttentionProjections,
  FusedProjections,
  GroupedProjections,
  SeparateProjections,
} from './attention-projections.js';

/** Head geometry of an attention layer. */
export interface AttentionGeometry {
  /** Query heads. */
  readonly heads: number;
  /** Key/value heads (divides heads). */
  readonly keyValueHeads: number;
  /** Size of one head. */
  readonly headDimensions: number;
}

/** What one attention layer is handed at each step: the backend, the position and this layer's cache. */
export interface AttentionContext {
  /** The backend the weights live on. */
  readonly backend: Backend;
  /** Position of the first row. */
  readonly firstPosition: number;
  /** This layer's KV cache (owned by the caller). */
  readonly cache: KeyValueCache;
}

/**
 * What one attention layer is handed at each step of a batch of sequences over a paged KV pool: the step's rows
 * (their sequences, positions and page tables) and this layer's pool. Every projection runs once over all the rows;
 * only the cache write and the attention go through the page tables.
 */
export interface PagedAttentionContext {
  /** The backend the weights live on. */
  readonly backend: Backend;
  /** The step's rows: which sequence each belongs to, its position, its sequence's page table. */
  readonly batch: PagedBatch;
  /** This layer's paged pool (owned by the caller). */
  readonly cache: PagedKeyValueCache;
}

/** The context of a cached step: one sequence's contiguous cache, or a batch of sequences over a paged pool. */
export type AttentionStepContext = AttentionContext | PagedAttentionContext;

/** Geometry of the cache one attention layer needs. */
export interface AttentionCacheSpec {
  /** keyValueHeads · headDimensions. */
  readonly keyValueWidth: number;
  /** Size of one head (a quantized cache's blocks must not straddle two heads). */
  readonly headDimensions: number;
  /** The sliding window, or undefined for full attention. */
  readonly window?: number;
}

interface AttentionSettings {
  readonly projections: AttentionProjections;
  /** The q, k, v projections as groups (from `projections`). */
  readonly groups: readonly ProjectionGroup[];
  readonly geometry: AttentionGeometry;
  readonly scale: number;
  readonly queryNorm?: Norm;
  readonly keyNorm?: Norm;
  readonly rotary?: RopeParameters;
  readonly window?: number;
  readonly softcap?: number;
  /** False: every real token sees every other (encoders); only {@link CausalAttention.forwardSequences} runs it. */
  readonly causal: boolean;
}

/**
 * What an attention layer is handed for a padded batch of whole sequences run without a cache (embedding models): rows
 * are position-major (`SequenceBatchLayout` of `@strata/core`), sequence s holds `lengths[s]` real tokens from position 0.
 */
export interface SequenceAttentionContext {
  /** The backend the weights live on. */
  readonly backend: Backend;
  /** Real tokens of each sequence; the number of sequences is its length. */
  readonly lengths: readonly number[];
}

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new StrataError('INVALID_CONFIG', `Attention ${name} must be a positive integer; got ${value}.`, {
      details: { [name]: value },
    });
  }
}

/**
 * Causal self-attention: projections → optional per-head QK norm → optional RoPE → cache write → attention → output.
 * An immutable value: each `with…` returns a new attention. It reads and writes the cache it is handed, never owns one.
 */
export class CausalAttention {
  readonly #settings: AttentionSettings;

  private constructor(settings: AttentionSettings) {
    this.#settings = settings;
  }

  /** Plain attention (no RoPE, full window, scale 1/√headDimensions) from projections and head geometry. */
  static create(projections: AttentionProjections, geometry: AttentionGeometry): CausalAttention {
    checkPositiveInteger(geometry.heads, 'heads');
    checkPositiveInteger(geometry.keyValueHeads, 'keyValueHeads');
    checkPositiveInteger(geometry.headDimensions, 'headDimensions');
    if (geometry.heads % geometry.keyValueHeads !== 0) {
      throw new StrataError(
        'INVALID_CONFIG',
        `Key/value heads (${geometry.keyValueHeads}) must divide query heads (${geometry.heads}).`,
        {
          details: { ...geometry },
        },
      );
    }
    const queryWidth = geometry.heads * geometry.headDimensions;
    const keyValueWidth = geometry.keyValueHeads * geometry.headDimensions;
    const groups = projectionGroups(projections, queryWidth, keyValueWidth);
    return new CausalAttention({
      projections,
      groups,
      geometry,
      scale: 1 / Math.sqrt(geometry.headDimensions),
      causal: true,
    });
  }

  /** Head geometry. */
  get geometry(): AttentionGeometry {
    return this.#settings.geometry;
  }

  /** The multiplier of q·k. */
  get scale(): number {
    return this.#settings.scale;
  }

  /** The sliding window, if any. */
  get window(): number | undefined {
    return this.#settings.window;
  }

  /** The RoPE parameters, if any. */
  get rotary(): RopeParameters | undefined {
    return this.#settings.rotary;
  }

  /** What the cache of this layer must hold. */
  get cacheSpec(): AttentionCacheSpec {
    const { keyValueHeads, headDimensions } = this.#settings.geometry;
    const keyValueWidth = keyValueHeads * headDimensions;
    const window = this.#settings.window;
    return window === undefined ? { keyValueWidth, headDimensions } : { keyValueWidth, headDimensions, window };
  }

  /** Normalises each query and key head (over headDimensions) before RoPE (Qwen3, Gemma 3). */
  withQkNorm(queryNorm: Norm, keyNorm: Norm): CausalAttention {
    return new CausalAttention({ ...this.#settings, queryNorm, keyNorm });
  }

  /** Applies rotary embeddings to queries and keys. */
  withRotary(parameters: RopeParameters): CausalAttention {
    if (parameters.headDimensions !== this.#settings.geometry.headDimensions) {
      throw new StrataError(
        'INVALID_CONFIG',
        `RoPE head size ${parameters.headDimensions} differs from the attention head size ${this.#settings.geometry.headDimensions}.`,
        { details: { rope: parameters.headDimensions, attention: this.#settings.geometry.headDimensions } },
      );
    }
    return new CausalAttention({ ...this.#settings, rotary: parameters });
  }

  /** Restricts each query to the keys of the last `window` positions (itself included). */
  withSlidingWindow(window: number): CausalAttention {
    checkPositiveInteger(window, 'window');
    return new CausalAttention({ ...this.#settings, window });
  }

  /** Caps attention scores: cap · tanh(score / cap) (Gemma 2). */
  withSoftcap(cap: number): CausalAttention {
    if (!(cap > 0))
      throw new StrataError('INVALID_CONFIG', `Attention softcap must be positive; got ${cap}.`, { details: { cap } });
    return new CausalAttention({ ...this.#settings, softcap: cap });
  }

  /**
   * The same attention without its causal mask (BERT-style encoders): every real token of a sequence sees every other.
   * Such an attention runs whole sequences through {@link CausalAttention.forwardSequences}; a cached `forward` (token by
   * token generation) needs the mask and rejects it.
   */
  withoutCausalMask(): CausalAttention {
    return new CausalAttention({ ...this.#settings, causal: false });
  }

  /** Whether queries see only earlier keys (true unless built {@link CausalAttention.withoutCausalMask}). */
  get causal(): boolean {
    return this.#settings.causal;
  }

  /** Replaces the q·k multiplier (Gemma: 1/√query_pre_attn_scalar). */
  withScale(scale: number): CausalAttention {
    if (!(scale > 0))
      throw new StrataError('INVALID_CONFIG', `Attention scale must be positive; got ${scale}.`, {
        details: { scale },
      });
    return new CausalAttention({ ...this.#settings, scale });
  }

  /**
   * Padded batch of whole sequences `[rows, width]` (already normed, position-major) → `[rows, width]`, without a
   * cache: positions restart at 0 in every sequence; the mask is causal unless built {@link CausalAttention.withoutCausalMask}.
   */
  forwardSequences(hidden: Tensor, context: SequenceAttentionContext): Tensor {
    const { backend, lengths } = context;
    const settings = this.#settings;
    const { heads, keyValueHeads, headDimensions } = settings.geometry;
    if (settings.window !== undefined || settings.softcap !== undefined) {
      throw new StrataError(
        'INVALID_CONFIG',
        'Whole-sequence attention supports neither sliding windows nor softcapping; run this model token by token.',
        { details: { window: settings.window, softcap: settings.softcap } },
      );
    }
    const rows = hidden.shape[0] as number;
    const sequences = lengths.length;
    // position-major rows: one RoPE row per position holds every sequence's heads, all at that position
    const { query, key, value } = this.#project(backend, hidden, (input, rotary) => {
      const width = input.shape[1] as number;
      const byPosition = backend.reshape(input, [rows / sequences, sequences * width]);
      const rotated = backend.rope(byPosition, 0, rotary);
      return backend.reshape(rotated, [rows, width]);
    });
    const attended = backend.selfAttention(query, key, value, {
      heads,
      keyValueHeads,
      headDimensions,
      scale: settings.scale,
      causal: settings.causal,
      lengths,
    });
    backend.dispose(query);
    backend.dispose(key);
    backend.dispose(value);
    const output = settings.projections.output.forward(backend, attended);
    backend.dispose(attended);
    return output;
  }

  /**
   * Query, key and value of `hidden` (RMS-normalised first by `norm`, inside the projections): projections in one
   * `rmsNormMatmul` (one dispatch per group of concatenated rows on the GPU), per-head QK norm, then `rotate` where the
   * attention has RoPE (none when the caller rotates later, as the cached step does together with its cache write).
   */
  #project(
    backend: Backend,
    hidden: Tensor,
    rotate: ((input: Tensor, rotary: RopeParameters) => Tensor) | undefined,
    norm?: InputNorm,
  ): { query: Tensor; key: Tensor; value: Tensor } {
    const settings = this.#settings;
    const { heads, keyValueHeads, headDimensions } = settings.geometry;
    let [query, key, value] = backend.rmsNormMatmul(
      hidden,
      norm,
      settings.groups.map((group) => group.linear.projection(group.widths)),
    ) as [Tensor, Tensor, Tensor];
    if (settings.queryNorm !== undefined && settings.keyNorm !== undefined) {
      query = replace(backend, query, normPerHead(backend, settings.queryNorm, query, heads, headDimensions));
      key = replace(backend, key, normPerHead(backend, settings.keyNorm, key, keyValueHeads, headDimensions));
    }
    const rotary = settings.rotary;
    if (rotary !== undefined && rotate !== undefined) {
      query = replace(backend, query, rotate(query, rotary));
      key = replace(backend, key, rotate(key, rotary));
    }
    return { query, key, value };
  }

  /**
   * `hidden` `[rows, width]` (already normed) → `[rows, width]`; writes this step's keys and values into the cache: the
   * one sequence's contiguous cache at positions `firstPosition …`, or, for a paged step, each row's page at its
   * position (the rows of several sequences, attended each over its own pages). With a `fusion` (from a pre-norm
   * block), `hidden` is the block's input: its norm is applied inside the q/k/v projections and the residual added by
   * the output projection, the same numbers as norm → attention → add.
   */
  forward(hidden: Tensor, context: AttentionStepContext, fusion: BranchFusion = {}): Tensor {
    const { backend } = context;
    const settings = this.#settings;
    if (!settings.causal) {
      throw new StrataError(
        'INVALID_CONFIG',
        'This attention has no causal mask (an encoder): run whole sequences with forwardSequences, not a cached step.',
      );
    }
    const { heads, keyValueHeads, headDimensions } = settings.geometry;
    const { query, key, value } = this.#project(backend, hidden, undefined, fusion.norm);
    const options: PagedAttentionOptions = {
      heads,
      keyValueHeads,
      headDimensions,
      scale: settings.scale,
      ...(settings.window === undefined ? {} : { window: settings.window }),
      ...(settings.softcap === undefined ? {} : { softcap: settings.softcap }),
    };
    // RoPE of both and the cache write as one op (one dispatch on the GPU), then attention over the cache.
    const rotary = settings.rotary;
    let rotated = query;
    let attend: (queries: Tensor) => Tensor;
    if ('batch' in context) {
      const { batch, cache } = context;
      if (rotary === undefined) backend.writePagedKeyValues(cache, key, value, batch);
      else rotated = backend.ropeAndWritePagedKeyValues(query, key, value, cache, batch, rotary);
      attend = (queries) => backend.pagedAttention(queries, cache, batch, options);
    } else {
      const { cache, firstPosition } = context;
      if (rotary === undefined) backend.writeKeyValues(cache, key, value, firstPosition);
      else rotated = backend.ropeAndWriteKeyValues(query, key, value, cache, firstPosition, rotary);
      attend = (queries) => backend.attention(queries, cache, { ...options, firstPosition });
    }
    backend.dispose(key);
    backend.dispose(value);
    if (rotated !== query) backend.dispose(query);
    const attended = attend(rotated);
    backend.dispose(rotated);
    const projection = settings.projections.output;
    const output =
      fusion.residual === undefined
        ? projection.forward(backend, attended)
        : projection.forwardAdd(backend, attended, fusion.residual);
    backend.dispose(attended);
    return output;
  }
}

/** Disposes `previous` and returns `next` (keeps forward passes free of leaked intermediates). */
function replace(backend: Backend, previous: Tensor, next: Tensor): Tensor {
  backend.dispose(previous);
  return next;
}

/** Applies `norm` to each head of `input` `[rows, heads · headDimensions]`. */
function normPerHead(backend: Backend, norm: Norm, input: Tensor, heads: number, headDimensions: number): Tensor {
  const rows = input.shape[0] as number;
  const perHead = backend.reshape(input, [rows * heads, headDimensions]);
  const normed = norm.forward(backend, perHead);
  backend.dispose(perHead);
  const output = backend.reshape(normed, [rows, heads * headDimensions]);
  backend.dispose(normed); // the view keeps the storage
  return output;
}
