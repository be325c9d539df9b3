import type { Backend, Tensor, WeightTensor } from '@strata/core';
import type { TokenEmbedding } from './embedding.js';
import type { Norm } from './norm.js';

/** The parts of an {@link EncoderEmbedding}. */
export interface EncoderEmbeddingParts {
  /** Token embedding `[vocabulary, width]`. */
  readonly tokens: TokenEmbedding;
  /** Absolute position embedding `[positions, width]`. */
  readonly positions: WeightTensor;
  /** Token-type (segment) embedding `[types, width]`; every token is of type 0 (one text per sequence). */
  readonly tokenTypes?: WeightTensor;
  /** Norm of the sum (BERT's embedding LayerNorm). */
  readonly norm: Norm;
}

/**
 * BERT-style input embedding: norm(token + position + token type 0) over a position-major padded batch (the row of
 * position p of sequence s is p · sequences + s).
 */
export class EncoderEmbedding {
  /** The parts. */
  readonly parts: EncoderEmbeddingParts;

  constructor(parts: EncoderEmbeddingParts) {
    this.parts = parts;
  }

  /** Rows of the position table: the longest sequence it embeds. */
  get maximumPositions(): number {
    return this.parts.positions.shape[0] as number;
  }

  /** i32 ids `[rows]` of `sequences` sequences → `[rows, width]`. */
  forward(backend: Backend, ids: Tensor, sequences: number): Tensor {
    const rows = ids.shape[0] as number;
    const tokens = this.parts.tokens.forward(backend, ids);
    const positionIds = backend.upload(
      Int32Array.from({ length: rows }, (_, row) => Math.floor(row / sequences)),
      [rows],
    );
    const positions = backend.embedding(this.parts.positions, positionIds);
    backend.dispose(positionIds);
    let sum = backend.add(tokens, positions);
    backend.dispose(tokens);
    backend.dispose(positions);
    if (this.parts.tokenTypes !== undefined) {
      const typeZero = backend.upload(new Int32Array(1), [1]);
      const typeRow = backend.embedding(this.parts.tokenTypes, typeZero);
      backend.dispose(typeZero);
      const typed = backend.add(sum, typeRow);
      backend.dispose(typeRow);
      backend.dispose(sum);
      sum = typed;
    }
    const normed = this.parts.norm.forward(backend, sum);
    backend.dispose(sum);
    return normed;
  }
}
