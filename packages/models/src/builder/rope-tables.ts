import type { RopeParameters } from '@strata/core';
import { ropeParameters } from '@strata/primitives';
import type { TransformerConfig } from '../config/transformer-config.js';
import type { TensorNaming } from '../naming/tensor-naming.js';

/** Computes RoPE tables once per distinct base, so every layer shares one table object (backends cache by identity). */
export class RopeTables {
  readonly #config: TransformerConfig;
  readonly #naming: TensorNaming;
  readonly #contextLength: number;
  readonly #tables = new Map<string, RopeParameters>();
  readonly #frequencyFactors: readonly number[] | undefined;

  constructor(
    config: TransformerConfig,
    naming: TensorNaming,
    options: { contextLength?: number; frequencyFactors?: readonly number[] } = {},
  ) {
    this.#config = config;
    this.#naming = naming;
    this.#contextLength = options.contextLength ?? config.contextLength;
    this.#frequencyFactors = options.frequencyFactors;
  }

  /** The context length the tables are built for (LongRoPE picks its factors by it). */
  get contextLength(): number {
    return this.#contextLength;
  }

  /** The table of a layer: local settings for sliding-window layers when the model has separate ones. */
  forLayer(layer: number): RopeParameters {
    const rope = this.#config.rope;
    const local = this.#config.layerWindows[layer] !== undefined && rope.localBase !== undefined;
    const key = local ? 'local' : 'global';
    let table = this.#tables.get(key);
    if (table === undefined) {
      const scaling = local
        ? (rope.localScaling ?? rope.scaling)
        : this.#frequencyFactors !== undefined
          ? { kind: 'frequency-factors' as const, factors: this.#frequencyFactors }
          : rope.scaling;
      table = ropeParameters(
        {
          headDimensions: this.#config.headDimensions,
          rotaryDimensions: rope.rotaryDimensions,
          base: local ? (rope.localBase as number) : rope.base,
          pairing: this.#naming.ropePairing,
        },
        scaling,
        { contextLength: this.#contextLength },
      );
      this.#tables.set(key, table);
    }
    return table;
  }
}
