import type { Backend } from '@strata/core';
import type { ModelFiles } from '@strata/loaders';
import { type LoadModelOptions, loadModelWith } from './builder/load-model.js';
import type { CompleteTransformer, TransformerPart } from './builder/transformer-model.js';
import { DEFAULT_REGISTRY } from './registry/default-registry.js';
import type { FamilyRegistry } from './registry/family-registry.js';

/** Options of {@link loadModel}. */
export interface LoadOptions extends LoadModelOptions {
  /** The families to choose from; default {@link DEFAULT_REGISTRY} (every shipped family). */
  readonly registry?: FamilyRegistry;
}

/**
 * Loads a model from files opened by `openModelFiles` / `openModel` (GGUF or a Hugging Face directory) onto a backend.
 * Without `layerRange` the result is complete (embed, transform, lmHead); with one it is the part of the model in that
 * range: switch on `part` to reach `embed` (range starts at 0) or `lmHead` (range ends at the last layer).
 */
export function loadModel(
  files: ModelFiles,
  backend: Backend,
  options?: Omit<LoadOptions, 'layerRange'>,
): Promise<CompleteTransformer>;
export function loadModel(files: ModelFiles, backend: Backend, options: LoadOptions): Promise<TransformerPart>;
export function loadModel(files: ModelFiles, backend: Backend, options: LoadOptions = {}): Promise<TransformerPart> {
  const { registry = DEFAULT_REGISTRY, ...rest } = options;
  return loadModelWith(registry, files, backend, rest);
}
