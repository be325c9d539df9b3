/**
 * Which elements of a head RoPE rotates together. `adjacent`: (0,1), (2,3), … (llama.cpp's "normal" mode, GGUF llama
 * files whose Q/K rows the converter permuted). `half-split`: (i, i + rotaryDimensions/2) (NeoX mode, Hugging Face layout).
 */
export type RopePairing = 'adjacent' | 'half-split';

/**
 * Everything a kernel needs for rotary embeddings. Every scaling scheme (linear, Llama-3, YaRN, LongRoPE) reduces to a
 * per-frequency table and a scale on cos/sin, computed once on the CPU by `@strata/primitives`.
 */
export interface RopeParameters {
  /** Size of one head. */
  readonly headDimensions: number;
  /** Leading dimensions of each head that rotate (partial rotary); the rest pass through. Even, ≤ headDimensions. */
  readonly rotaryDimensions: number;
  /** Pairing of rotated elements. */
  readonly pairing: RopePairing;
  /** θ_i = position · inverseFrequencies[i], length rotaryDimensions / 2. Backends may cache it by identity. */
  readonly inverseFrequencies: Float32Array;
  /** Multiplies cos and sin (YaRN / LongRoPE attention factor); 1 for plain RoPE. */
  readonly attentionFactor: number;
}
