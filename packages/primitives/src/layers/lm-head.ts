import type { Backend, Tensor } from '@strata/core';
import type { Linear } from './linear.js';
import type { Norm } from './norm.js';

/** Final norm, output projection (its own weight or the tied embedding table) and an optional logit softcap. */
export class LanguageModelHead {
  /** The final norm. */
  readonly norm: Norm;
  /** The output projection `[vocabulary, width]`. */
  readonly projection: Linear;
  /** When set, logits become cap · tanh(logits / cap) (Gemma 2). */
  readonly softcap: number | undefined;

  constructor(norm: Norm, projection: Linear, softcap?: number) {
    this.norm = norm;
    this.projection = projection;
    this.softcap = softcap;
  }

  /** Rows of the projection. */
  get vocabularySize(): number {
    return this.projection.outputs;
  }

  /** `[rows, width]` → logits `[rows, vocabulary]`. */
  forward(backend: Backend, hidden: Tensor): Tensor {
    const normed = this.norm.forward(backend, hidden);
    const logits = this.projection.forward(backend, normed);
    backend.dispose(normed);
    if (this.softcap === undefined) return logits;
    const capped = backend.softcap(logits, this.softcap);
    backend.dispose(logits);
    return capped;
  }
}
