import type { Backend, Tensor, WeightTensor } from '@strata/core';

/** Token embedding: rows of a table `[vocabulary, width]`, optionally scaled (Gemma multiplies by √width). */
export class TokenEmbedding {
  /** The table `[vocabulary, width]`. */
  readonly table: WeightTensor;
  /** Multiplies every embedding (1 for most models). */
  readonly scale: number;

  constructor(table: WeightTensor, scale = 1) {
    this.table = table;
    this.scale = scale;
  }

  /** Rows of the table. */
  get vocabularySize(): number {
    return this.table.shape[0] as number;
  }

  /** i32 ids `[rows]` → `[rows, width]`. */
  forward(backend: Backend, ids: Tensor): Tensor {
    return backend.embedding(this.table, ids, this.scale);
  }
}
