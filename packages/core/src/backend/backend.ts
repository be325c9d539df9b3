import type { Tensor, WeightDescriptor, WeightTensor } from '../tensor/tensor.js';
import type { RopeParameters } from './rope.js';
import type { StepBody, StepInputShapes, StepPlan } from './step-plan.js';
import type { PoolSequencesOptions, SelfAttentionOptions } from './sequence-batch.js';
import type { PagedAttentionOptions, PagedBatch, PagedKeyValueCache } from './paged-cache.js';
import type { WeightByteReader } from './weight-byte-reader.js';

/** Activation functions the backends implement. */
export type ActivationKind = 'silu' | 'gelu-tanh' | 'gelu-erf' | 'relu';

/**
 * Bytes of a weight: the whole buffer, consecutive chunks in order (a streaming upload holds one chunk at a time), or a
 * {@link WeightByteReader}, which also reads any range on demand (a backend may read it straight into mapped memory).
 */
export type WeightBytes = Uint8Array | AsyncIterable<Uint8Array> | WeightByteReader;

/** Options of {@link Backend.attention}. Queries sit at positions `firstPosition … firstPosition + rows - 1`. */
export interface AttentionOptions {
  /** Query heads; queries are `[rows, heads · headDimensions]`. */
  readonly heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`; must divide it). */
  readonly keyValueHeads: number;
  /** Size of one head. */
  readonly headDimensions: number;
  /** Position of the first query row. */
  readonly firstPosition: number;
  /** Multiplies q·k before softcap and softmax (usually 1/√headDimensions). */
  readonly scale: number;
  /** When set, a query at p sees keys at positions > p − window only (sliding window). */
  readonly window?: number;
  /** When set, scores become softcap · tanh(score / softcap) before softmax (Gemma 2). */
  readonly softcap?: number;
}

/**
 * The KV cache of one attention layer: keys and values `[capacity, keyValueHeads · headDimensions]`.
 * The entry for position p lives in row `p mod capacity`: a cache smaller than the context is a ring buffer, which is
 * correct while capacity ≥ window + rows written per step − 1. The pipeline owns caches; models read and write them.
 */
export interface KeyValueCache {
  /** Keys `[capacity, keyValueHeads · headDimensions]`: f32, or the storage type of {@link KeyValueCache.precision}. */
  readonly keys: Tensor;
  /** Values, same shape as keys. */
  readonly values: Tensor;
  /**
   * Numerics of the cache (default `'f32'`). `'f16'`: every key and value written is rounded to half precision
   * (round-to-nearest-even; beyond ±65504 after rounding, ±infinity), the numerics of an f16 cache such as
   * llama.cpp's default. Storage is the tensors' dtype: a cache made by {@link Backend.createKeyValueCache} with
   * `'f16'` holds halves (f16 tensors, half the bytes of f32; WebGPU keeps f32 for an odd width); an f32 tensor pair
   * with `'f16'` rounds only.
   *
   * `'q8_0'` (llama.cpp's q8_0 cache type): each block of 32 consecutive values of a row (rows are whole blocks; with
   * heads of a multiple of 32 dimensions no block straddles two heads) is stored as 32 int8 quants and one f16 scale
   * `d = f16(fl32(amax · fl32(1/127)))` (amax the block's largest magnitude, f16 rounding to nearest even), the quants
   * `q = clamp(round(x / d), −127, 127)` rounding halves away from zero, computed exactly (`d = 0`: all zeros); a read
   * gives `q · d`, within `d / 2` of what was written. Quantizing those values again gives the same blocks, so copying
   * rows between q8_0 caches (read, write) is lossless. Storage is `q8_0` tensors (see `storageBytes`, 34 bytes per
   * 32 values) on every backend, made only by {@link Backend.createKeyValueCache}; rows must be a multiple of 32.
   */
  readonly precision?: KeyValuePrecision;
}

/** Numerics of a KV cache: see {@link KeyValueCache.precision}. */
export type KeyValuePrecision = 'f32' | 'f16' | 'q8_0';

/**
 * The RMSNorm a fused projection op applies to its input rows first: the `weight` and `epsilon` of
 * {@link Backend.rmsNorm} (no weight: 1).
 */
export interface InputNorm {
  /** Scale `[columns]`, or undefined for none. */
  readonly weight: WeightTensor | undefined;
  /** ε inside the square root. */
  readonly epsilon: number;
}

/** One projection of {@link Backend.rmsNormMatmul}: a weight `[out, columns]`, its bias, and its output parts. */
export interface Projection {
  /** Weight `[out, columns]` in any weight type (several projections' rows concatenated, say Q, K and V). */
  readonly weight: WeightTensor;
  /** Bias `[out]`, optional. */
  readonly bias?: WeightTensor;
  /** Widths of the consecutive output column ranges returned as separate tensors (summing to `out`); default `[out]`. */
  readonly widths?: readonly number[];
}

/** Options of {@link Backend.routeExperts}. */
export interface ExpertRoutingOptions {
  /** Experts chosen per token. */
  readonly topK: number;
  /** Renormalise the chosen experts' probabilities to sum to 1 (Mixtral, Qwen3-MoE with norm_topk_prob). */
  readonly normalize: boolean;
}

/** Result of {@link Backend.routeExperts}: for each token, the chosen experts and their weights. */
export interface ExpertRouting {
  /** i32 `[rows, topK]`, best first. */
  readonly experts: Tensor;
  /** f32 `[rows, topK]`: softmax probabilities over all experts, renormalised over the chosen ones when asked. */
  readonly weights: Tensor;
}

/**
 * Options of {@link Backend.sampleToken}. All filters apply to the temperature-scaled distribution, in the order
 * allowed-token mask → penalties → logit bias → temperature → top-k → top-p → min-p; `temperature` 0 is greedy (argmax after penalties/bias).
 */
export interface SamplingParameters {
  /** 0 for greedy; otherwise divides the logits. */
  readonly temperature: number;
  /** Keep the k most likely tokens; 0 disables. */
  readonly topK: number;
  /** Keep the smallest set whose probability reaches p; 1 disables. */
  readonly topP: number;
  /** Drop tokens whose probability is below minP × the best one's; 0 disables. */
  readonly minP: number;
  /** A uniform random number in [0, 1) drawn by the caller's seeded generator; picks the token from the kept mass. */
  readonly random: number;
  /** Tokens to penalise (distinct ids) and how often each occurred; empty for none. */
  readonly penaltyTokens: Int32Array;
  /** Occurrence counts matching `penaltyTokens`. */
  readonly penaltyCounts: Int32Array;
  /** llama.cpp's repetition penalty: positive logits divided by it, negative multiplied; 1 disables. */
  readonly repetitionPenalty: number;
  /** Subtracted once from the logit of every penalised token; 0 disables. */
  readonly presencePenalty: number;
  /** Subtracted count times from the logit of every penalised token; 0 disables. */
  readonly frequencyPenalty: number;
  /** Token ids whose logits get `logitBiasValues` added (−Infinity bans a token). */
  readonly logitBiasTokens: Int32Array;
  /** Values matching `logitBiasTokens`. */
  readonly logitBiasValues: Float32Array;
  /**
   * Structured output: the tokens that may be chosen, as a bitmask (bit `id % 32` of word `id / 32` set = allowed; at
   * least `ceil(vocabulary / 32)` words). Every other token is banned before penalties, temperature and the filters
   * apply, so they act on the allowed set only. Absent: every token is allowed.
   */
  readonly allowedTokens?: Uint32Array;
}

/**
 * A compute backend. Models and primitives compute only through this interface.
 *
 * Semantics every implementation keeps:
 * - Ops return new tensors and never modify their inputs, except {@link Backend.writeKeyValues} which writes the cache.
 * - Ops may be recorded lazily (WebGPU encodes a whole step into one command buffer); {@link Backend.read} is the only
 *   synchronisation point and returns host copies. Errors of recorded work surface at the next `read`/`flush` at the latest.
 * - {@link Backend.dispose} hands a tensor's storage back; using a disposed tensor throws `TENSOR_DISPOSED`. A
 *   {@link Backend.reshape} view is a tensor of its own: disposing it (or the tensor it views) releases that handle only,
 *   and the storage goes back once every tensor over it was disposed. Disposing twice is a no-op.
 * - Tensors and weights of another backend are rejected with `BACKEND_MISMATCH`; bad shapes with `SHAPE_MISMATCH`.
 */
export interface Backend {
  /** Stable name (`cpu`, `webgpu`). */
  readonly name: string;
  /**
   * True when ops record work that the device runs later (WebGPU: the host may go on, and decide the next step, while
   * the device runs this one); false when every op has computed its result before it returns (the CPU). The backend's
   * step plans say the same ({@link StepPlan.deferred}).
   */
  readonly defersWork: boolean;

  // ── memory ────────────────────────────────────────────────────────────────────────────────────────────────────────
  /** Uploads a weight in its file format. Vectors of any float type may be stored as f32 by the backend. */
  uploadWeight(descriptor: WeightDescriptor, bytes: WeightBytes): Promise<WeightTensor>;
  /** Copies host data into a new tensor of the given shape (`Float32Array` → f32, `Int32Array` → i32). */
  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor;
  /** A new f32 tensor filled with zeros. */
  zeros(shape: readonly number[]): Tensor;
  /**
   * A zeroed KV cache of `capacity` rows of `width` keys and values, stored in `precision` where the backend can
   * (`'f16'`: f16 tensors, half the bytes of f32, on the CPU reference too. `'q8_0'`: q8_0
   * tensors on every backend, 34 bytes per 32 values; `width` must be a multiple of 32, else `SHAPE_MISMATCH`). Its
   * bytes are `2 · storageBytes(keys.dtype, [capacity, width])`.
   */
  createKeyValueCache(capacity: number, width: number, precision?: KeyValuePrecision): KeyValueCache;
  /**
   * A zeroed paged KV pool of one layer: `pages` pages of `pageSize` rows of `width` keys and values, stored as
   * {@link Backend.createKeyValueCache} stores `pages · pageSize` rows in `precision` (so its bytes are that cache's).
   * Throws `INVALID_ARGUMENT` unless `pages` and `pageSize` are integers ≥ 1.
   */
  createPagedKeyValueCache(
    pages: number,
    pageSize: number,
    width: number,
    precision?: KeyValuePrecision,
  ): PagedKeyValueCache;
  /** Runs everything recorded so far and copies the tensor to the host. */
  read(tensor: Tensor): Promise<Float32Array | Int32Array>;
  /** Runs everything recorded so far and waits for it. */
  flush(): Promise<void>;
  /** Releases a tensor's storage (a no-op where the garbage collector owns it). */
  dispose(tensor: Tensor | WeightTensor): void;
  /**
   * A view of the same elements with another shape of equal element count; dispose it like any tensor. A `q8_0` tensor
   * (laid out by rows) cannot be viewed: `DTYPE_MISMATCH`.
   */
  reshape(tensor: Tensor, shape: readonly number[]): Tensor;
  /**
   * Rows `[start, start + count)` of a 2-D tensor, as a new tensor: of the same dtype, except that the rows of a
   * storage-only tensor (`f16`, `q8_0`: a KV cache) come as the f32 values a read gives.
   */
  sliceRows(tensor: Tensor, start: number, count: number): Tensor;
  /**
   * Rows `rows[0], rows[1], …` of a 2-D tensor, in that order, as a new `[rows.length, columns]` tensor (the last row
   * of each sequence of a batched step, before the lm head). A row may appear more than once.
   */
  gatherRows(tensor: Tensor, rows: readonly number[]): Tensor;
  /** Splits the columns of a 2-D tensor into consecutive parts of the given widths (fused QKV, gate/up). */
  splitColumns(tensor: Tensor, widths: readonly number[]): Tensor[];

  // ── linear algebra ───────────────────────────────────────────────────────────────────────────────────────────────
  /** Rows of `table` `[vocabulary, width]` for i32 `ids` `[rows]`, times `scale` (default 1): f32 `[rows, width]`. */
  embedding(table: WeightTensor, ids: Tensor, scale?: number): Tensor;
  /** `input` `[rows, columns]` times `weight` `[out, columns]` transposed, plus `bias` `[out]`: `[rows, out]`. */
  matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor;
  /**
   * Projections of one input, RMS-normalised first when `norm` is given: for each projection,
   * `splitColumns(matmul(x, weight, bias), widths)` with `x = rmsNorm(input, norm.weight, norm.epsilon)` (or `input`).
   * Returns every part of every projection, in order. The same numbers as those ops; on the GPU one input row takes one
   * dispatch per projection, the norm computed inside the mat-vec (Q, K and V of concatenated rows in one dispatch).
   */
  rmsNormMatmul(input: Tensor, norm: InputNorm | undefined, projections: readonly Projection[]): Tensor[];
  /**
   * `activation(gate) · up` where `[gate | up]` = `matmul(x, weight)` with `x` as in {@link Backend.rmsNormMatmul}: the
   * weight `[2 · intermediate, columns]` holds the gate rows, then the up rows (Phi-3's fused `gate_up`, or gate and up
   * concatenated at load time). The same numbers as `matmul`, `splitColumns` and {@link Backend.gatedActivation}; on
   * the GPU one input row takes one dispatch (each workgroup computes gate and up rows of the same index).
   */
  rmsNormGatedMatmul(input: Tensor, norm: InputNorm | undefined, weight: WeightTensor, kind: ActivationKind): Tensor;
  /**
   * `residual + matmul(input, weight, bias)` (`residual` `[rows, out]`): the residual add of a pre-norm block in the
   * epilogue of its output projection. The same numbers as {@link Backend.matmul} then {@link Backend.add}.
   */
  matmulAdd(input: Tensor, weight: WeightTensor, residual: Tensor, bias?: WeightTensor): Tensor;
  /**
   * Mixture-of-experts product. `weight` is `[experts, out, columns]`, `experts` i32 `[rows, topK]`; `input` is
   * `[rows, columns]` (the same input for every slot) or `[rows · topK, columns]` (one per slot). Returns
   * `[rows · topK, out]`: row r·topK + s is input × expert `experts[r, s]`.
   */
  matmulExperts(input: Tensor, weight: WeightTensor, experts: Tensor): Tensor;

  // ── element-wise and normalisation ──────────────────────────────────────────────────────────────────────────────
  /** `a + b`; `b` may be a single row `[columns]`/`[1, columns]` broadcast over `a`'s rows. */
  add(a: Tensor, b: Tensor): Tensor;
  /** `a · b` element-wise, with the same broadcasting as {@link Backend.add}. */
  mul(a: Tensor, b: Tensor): Tensor;
  /** `input · factor`. */
  scale(input: Tensor, factor: number): Tensor;
  /** Applies an activation element-wise. */
  activation(input: Tensor, kind: ActivationKind): Tensor;
  /** `activation(gate) · up` element-wise (SwiGLU, GeGLU). */
  gatedActivation(gate: Tensor, up: Tensor, kind: ActivationKind): Tensor;
  /** `cap · tanh(input / cap)`. */
  softcap(input: Tensor, cap: number): Tensor;
  /** RMSNorm over the last dimension: x / √(mean(x²) + epsilon) · weight (no weight: 1). */
  rmsNorm(input: Tensor, weight: WeightTensor | undefined, epsilon: number): Tensor;
  /** LayerNorm over the last dimension with optional weight and bias. */
  layerNorm(input: Tensor, weight: WeightTensor | undefined, bias: WeightTensor | undefined, epsilon: number): Tensor;
  /** Softmax over the last dimension. */
  softmax(input: Tensor): Tensor;

  // ── attention ───────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Rotary embedding of `input` `[rows, heads · headDimensions]` at positions `firstPosition + row`.
   */
  rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor;
  /** Writes keys and values `[rows, keyValueHeads · headDimensions]` for positions `firstPosition + row` into the cache. */
  writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void;
  /**
   * RoPE on queries and keys and the cache write in one op: writes `rope(keys)` and `values` for positions
   * `firstPosition + row` into the cache and returns `rope(queries)`. The same numbers as {@link Backend.rope} twice and
   * {@link Backend.writeKeyValues}, in one pass over the step's rows (one dispatch instead of three on the GPU).
   */
  ropeAndWriteKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: KeyValueCache,
    firstPosition: number,
    parameters: RopeParameters,
  ): Tensor;
  /**
   * Causal attention of `queries` `[rows, heads · headDimensions]` over the cache (which must already hold the keys and
   * values of these rows): `[rows, heads · headDimensions]`.
   */
  attention(queries: Tensor, cache: KeyValueCache, options: AttentionOptions): Tensor;
  /**
   * Writes keys and values `[rows, width]` of a paged step into the pool: row r goes to the storage row of its
   * sequence's page table at its position (`batch.positionsAndSlots`), rounded as the cache's precision asks. Throws
   * `SHAPE_MISMATCH` when the rows or widths disagree with the batch or the cache, `INVALID_ARGUMENT` when the batch
   * names pages the cache lacks or another page size.
   */
  writePagedKeyValues(cache: PagedKeyValueCache, keys: Tensor, values: Tensor, batch: PagedBatch): void;
  /**
   * {@link Backend.ropeAndWriteKeyValues} for a paged step: RoPE of each row at its own position (`batch.positionsAndSlots`),
   * `rope(keys)` and `values` written as {@link Backend.writePagedKeyValues} writes them, `rope(queries)` returned.
   */
  ropeAndWritePagedKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    parameters: RopeParameters,
  ): Tensor;
  /**
   * Causal attention of the query rows of several sequences `[rows, heads · headDimensions]`, each row over its own
   * sequence's pages (which must already hold the keys and values of the step): the row of sequence s at position p
   * sees s's keys at positions max(0, p − window + 1) … p, read through s's page table, with the options of
   * {@link Backend.attention} (GQA, window, softcap). The same numbers as {@link Backend.attention} over a contiguous
   * cache holding each sequence's positions. Returns `[rows, heads · headDimensions]`.
   */
  pagedAttention(queries: Tensor, cache: PagedKeyValueCache, batch: PagedBatch, options: PagedAttentionOptions): Tensor;
  /**
   * Attention of a padded batch of sequences over its own keys and values (no cache): `queries`
   * `[rows, heads · headDimensions]`, `keys` and `values` `[rows, keyValueHeads · headDimensions]`, rows position-major
   * (`SequenceBatchLayout`; rows is a multiple of the sequences whose quotient is at least every length).
   * Returns `[rows, heads · headDimensions]`.
   */
  selfAttention(queries: Tensor, keys: Tensor, values: Tensor, options: SelfAttentionOptions): Tensor;
  /** One row per sequence of `hidden` `[rows, width]` (position-major, `SequenceBatchLayout`): `[sequences, width]`. */
  poolSequences(hidden: Tensor, options: PoolSequencesOptions): Tensor;
  /** Each row divided by its Euclidean norm, the norm floored at `epsilon` (PyTorch's `F.normalize`). */
  l2Normalize(input: Tensor, epsilon: number): Tensor;

  // ── routing and sampling ────────────────────────────────────────────────────────────────────────────────────────
  /** Softmax over router logits `[rows, experts]`, then the top-k experts per row. */
  routeExperts(logits: Tensor, options: ExpertRoutingOptions): ExpertRouting;
  /** Per row, sums the `topK` slot rows of `slots` `[rows · topK, columns]` weighted by `weights` `[rows, topK]`. */
  combineExperts(slots: Tensor, weights: Tensor): Tensor;
  /** Index of the largest value of each row: i32 `[rows]` (first index on ties). */
  argmax(input: Tensor): Tensor;
  /** Samples one token from the last row of `logits` `[rows, vocabulary]`: i32 `[1]`. */
  sampleToken(logits: Tensor, parameters: SamplingParameters): Tensor;

  // ── captured steps ──────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * A plan that runs `body` for `rows` token ids at a time. A recording backend (WebGPU) records the body's ops on the
   * first run and replays the recording afterwards, with positions handed to the kernels through their parameters, so
   * one plan serves every position (sliding windows and ring caches included). A backend without recording runs
   * `body` each time. The plan owns the body's intermediate tensors: nothing it allocates outlives {@link StepPlan.dispose}.
   * `inputShapes` declares i32 inputs beyond the ids that each run writes (a paged step's positions and page tables).
   */
  captureStep(rows: number, body: StepBody, inputShapes?: StepInputShapes): StepPlan;
}
