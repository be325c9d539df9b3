import { StrataError } from '@strata/core';
import type { ModelFamily } from './model-family.js';

/** Where an architecture name comes from. */
export type ArchitectureSource = 'gguf' | 'huggingface';

/** An explicit table from architecture names to families (no registration by side effect). */
export class FamilyRegistry {
  /** The families, in the order given. */
  readonly families: readonly ModelFamily[];
  readonly #gguf = new Map<string, ModelFamily>();
  readonly #huggingFace = new Map<string, ModelFamily>();

  /** Builds the table; INVALID_ARGUMENT when two families claim one name. */
  constructor(families: readonly ModelFamily[]) {
    this.families = Object.freeze([...families]);
    for (const family of families) {
      for (const [names, table] of [
        [family.ggufArchitectures, this.#gguf],
        [family.huggingFaceModelTypes, this.#huggingFace],
      ] as const) {
        for (const name of names) {
          const existing = table.get(name);
          if (existing !== undefined && existing !== family) {
            throw new StrataError(
              'INVALID_ARGUMENT',
              `Architecture '${name}' is claimed by both '${existing.name}' and '${family.name}'.`,
              {
                details: { name, families: [existing.name, family.name] },
              },
            );
          }
          table.set(name, family);
        }
      }
    }
  }

  /** The family of an architecture; `UNKNOWN_ARCHITECTURE` listing the supported names otherwise. */
  resolve(source: ArchitectureSource, architecture: string): ModelFamily {
    const table = source === 'gguf' ? this.#gguf : this.#huggingFace;
    const family = table.get(architecture);
    if (family === undefined) {
      const supported = [...table.keys()].sort();
      const what = source === 'gguf' ? 'GGUF architecture' : 'Hugging Face model_type';
      throw new StrataError(
        'UNKNOWN_ARCHITECTURE',
        `${what} '${architecture}' is not supported; supported: ${supported.join(', ')}.`,
        {
          details: { architecture, source, supported },
        },
      );
    }
    return family;
  }

  /** Supported names of a source, sorted. */
  supported(source: ArchitectureSource): string[] {
    return [...(source === 'gguf' ? this.#gguf : this.#huggingFace).keys()].sort();
  }
}
