/**
 * A model family strata does not ship, added from outside the repository: GPT-J (EleutherAI). Everything but one
 * detail is a choice of structure flags; the detail (rotary pairs of adjacent elements) is a layer customizer.
 *
 * GPT-J, as llama.cpp stores it (GGUF `general.architecture = gptj`):
 * - one LayerNorm (with bias) feeds attention and the MLP in parallel: out = x + attention(n) + mlp(n), n = norm(x);
 * - Q, K, V and output projections without biases; MLP `ffn_up` → GELU (tanh) → `ffn_down`, both with biases;
 * - rotary embeddings on the first `rope.dimension_count` elements of each head, rotating (0,1), (2,3), … together
 *   (llama.cpp's "normal" RoPE mode; the converter keeps the original row order);
 * - an output head with a bias, not tied to the embeddings.
 * @packageDocumentation
 */
import type { RopeParameters } from '@strata/core';
import {
  type CompleteTransformer,
  DEFAULT_FAMILIES,
  defineFamily,
  FamilyRegistry,
  type LayerCustomizer,
  loadModel,
  type ModelFamily,
} from '@strata/models';
import { PHI2_STRUCTURE } from '@strata/models/phi2';
import { ParallelTransformerBlock } from '@strata/primitives';

/** The adjacent-pair variant of each table the builder made, one per table so layers keep sharing one object. */
const adjacentTables = new WeakMap<RopeParameters, RopeParameters>();

function withAdjacentPairs(table: RopeParameters): RopeParameters {
  let adjacent = adjacentTables.get(table);
  if (adjacent === undefined) {
    adjacent = Object.freeze({ ...table, pairing: 'adjacent' as const });
    adjacentTables.set(table, adjacent);
  }
  return adjacent;
}

/**
 * The builder picks the RoPE pairing from the file format (half-split for every GGUF architecture llama.cpp runs in
 * NeoX mode, which is all it knows besides Llama's permuted ones). GPT-J rotates adjacent elements: swap the table.
 */
export const rotateAdjacentPairs: LayerCustomizer = (block) => {
  if (!(block instanceof ParallelTransformerBlock)) return block;
  const rotary = block.attention.rotary;
  if (rotary === undefined || rotary.pairing === 'adjacent') return block;
  return block.with({ attention: block.attention.withRotary(withAdjacentPairs(rotary)) });
};

/**
 * The GPT-J family. Only GGUF is declared: Hugging Face's config.json states the rotary size as `rotary_dim`, which the
 * shared config reader does not parse (it reads `partial_rotary_factor`), and names tensors `transformer.h.{layer}.*`.
 */
export const gptj: ModelFamily = defineFamily({
  name: 'gptj',
  ggufArchitectures: ['gptj'],
  huggingFaceModelTypes: [],
  // Assembled as Phi-2 is (the builder reads these flags, loads tensors by role and builds the blocks); only the RoPE
  // pairing differs, which the customizer fixes.
  defaults: { family: 'gptj', structure: PHI2_STRUCTURE, activation: 'gelu-tanh', normalizeExperts: false },
  customize: rotateAdjacentPairs,
});

/** Every shipped family plus GPT-J: pass it to `loadModel` as `registry`. */
export const REGISTRY_WITH_GPTJ: FamilyRegistry = new FamilyRegistry([...DEFAULT_FAMILIES, gptj]);

/** Loads a complete model from opened files, GPT-J included. */
export function loadWithGptj(
  files: Parameters<typeof loadModel>[0],
  backend: Parameters<typeof loadModel>[1],
): Promise<CompleteTransformer> {
  return loadModel(files, backend, { registry: REGISTRY_WITH_GPTJ });
}
