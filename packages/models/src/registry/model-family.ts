import type { LayerCustomizer } from '../builder/layer-loader.js';
import type { FamilyConfigDefaults } from '../config/family-defaults.js';
import type { NameOverrides } from '../naming/tensor-naming.js';

/**
 * A model family: what no file states about a group of architectures. Everything else (sizes, RoPE, windows, experts)
 * comes from the file's config; the weights come through the format's naming.
 */
export interface ModelFamily {
  /** The family name (`llama`). */
  readonly name: string;
  /** GGUF `general.architecture` values this family loads. */
  readonly ggufArchitectures: readonly string[];
  /** Hugging Face `model_type` values this family loads. */
  readonly huggingFaceModelTypes: readonly string[];
  /** Structure, default activation and the other fixed facts. */
  readonly defaults: FamilyConfigDefaults;
  /** Changes to each format's tensor names. */
  readonly naming?: {
    /** Overrides of the GGUF names. */
    readonly gguf?: NameOverrides;
    /** Overrides of the Hugging Face names. */
    readonly huggingFace?: NameOverrides;
  };
  /** Adjusts one standard layer, when the family differs from its structure in one place. */
  readonly customize?: LayerCustomizer;
}

/** Declares a family (typed, frozen): `export const myFamily = defineFamily({ … })`. */
export function defineFamily(family: ModelFamily): ModelFamily {
  return Object.freeze(family);
}
