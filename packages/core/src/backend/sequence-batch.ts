import { StrataError } from '../errors/strata-error.js';

/**
 * A padded batch of token sequences laid out position-major: the row of token `position` of sequence `sequence` is
 * `position · sequences + sequence`, so that row-wise ops need no layout and the rows of one position are adjacent.
 * Sequence `s` holds `lengths[s]` real tokens at positions `0 … lengths[s] − 1`; later positions are padding.
 */
export interface SequenceBatchLayout {
  /** Real (non-padding) tokens of each sequence, each ≥ 1; the number of sequences is its length. */
  readonly lengths: readonly number[];
}

/** Options of `Backend.selfAttention`. */
export interface SelfAttentionOptions extends SequenceBatchLayout {
  /** Query heads; queries are `[rows, heads · headDimensions]`. */
  readonly heads: number;
  /** Key/value heads (must divide `heads`); keys and values are `[rows, keyValueHeads · headDimensions]`. */
  readonly keyValueHeads: number;
  /** Size of one head. */
  readonly headDimensions: number;
  /** Multiplies q·k before the softmax (usually 1/√headDimensions). */
  readonly scale: number;
  /**
   * True: the query at position p sees its sequence's keys at positions ≤ p (decoder models). False: it sees every
   * real key of its sequence (encoders). Padding keys are never seen; padding queries see their sequence's real keys.
   */
  readonly causal: boolean;
}

/** How `Backend.poolSequences` reduces a sequence's rows to one: their mean, the first row or the last real row. */
export type SequencePooling = 'mean' | 'first' | 'last';

/** Options of `Backend.poolSequences`. */
export interface PoolSequencesOptions extends SequenceBatchLayout {
  /** The reduction. */
  readonly pooling: SequencePooling;
}

/** Sequences and rows per sequence of a position-major batch of `rows` rows, as {@link validateSequenceBatch} found. */
export interface SequenceBatchShape {
  /** Number of sequences. */
  readonly sequences: number;
  /** Positions per sequence (padded length): rows / sequences. */
  readonly sequenceLength: number;
}

/**
 * Checks a batch layout against `rows`: at least one sequence, every length an integer in 1 … rows / sequences, rows a
 * multiple of the sequences. Throws `SHAPE_MISMATCH` (or `INVALID_ARGUMENT` for bad lengths) naming `operation`.
 */
export function validateSequenceBatch(
  rows: number,
  layout: SequenceBatchLayout,
  operation: string,
): SequenceBatchShape {
  const sequences = layout.lengths.length;
  if (sequences === 0 || rows % sequences !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `${operation}: ${rows} rows are not a whole number of positions for ${sequences} sequences.`,
      { details: { operation, rows, sequences } },
    );
  }
  const sequenceLength = rows / sequences;
  for (const length of layout.lengths) {
    if (!Number.isInteger(length) || length < 1 || length > sequenceLength) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `${operation}: every sequence length must be an integer in 1…${sequenceLength} (the padded length); got ${length}.`,
        { details: { operation, length, sequenceLength } },
      );
    }
  }
  return { sequences, sequenceLength };
}
