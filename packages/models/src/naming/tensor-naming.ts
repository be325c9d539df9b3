import { type RopePairing, StrataError } from '@strata/core';

/** Tensors of the whole model. */
export type ModelTensorRole = 'tokenEmbedding' | 'outputNorm' | 'output' | 'ropeFrequencies';

/** Tensors of one layer. */
export type LayerTensorRole =
  | 'attentionNorm'
  | 'query'
  | 'key'
  | 'value'
  | 'queryKeyValue'
  | 'attentionOutput'
  | 'queryNorm'
  | 'keyNorm'
  | 'postAttentionNorm'
  | 'feedForwardNorm'
  | 'postFeedForwardNorm'
  | 'gate'
  | 'up'
  | 'gateUp'
  | 'down'
  | 'router'
  | 'expertGate'
  | 'expertUp'
  | 'expertDown';

/** Name templates (without `.weight` / `.bias`): `{layer}` is the layer index, `{expert}` the expert index. */
export interface NameTable {
  /** Model-level tensors. */
  readonly model: Readonly<Partial<Record<ModelTensorRole, string>>>;
  /** Layer tensors. */
  readonly layer: Readonly<Partial<Record<LayerTensorRole, string>>>;
}

/** Changes a family makes to a format's name table. */
export interface NameOverrides {
  /** Model-level names to replace. */
  readonly model?: Readonly<Partial<Record<ModelTensorRole, string>>>;
  /** Layer names to replace. */
  readonly layer?: Readonly<Partial<Record<LayerTensorRole, string>>>;
}

/**
 * How one weight format names a model's tensors, and the format's quirks. Family code asks for roles; only the naming
 * knows file names, the RoPE pairing the file's Q/K layout needs and how norm weights are stored.
 */
export interface TensorNaming {
  /** The format. */
  readonly format: 'gguf' | 'huggingface';
  /** The name templates. */
  readonly names: NameTable;
  /** Experts stored as one stacked tensor per role (GGUF) or one tensor per expert (`{expert}` in the name). */
  readonly expertLayout: 'stacked' | 'per-expert';
  /** Pairing that matches the file's Q/K row order (llama.cpp permutes llama-arch rows: adjacent). */
  readonly ropePairing: RopePairing;
  /** Norm weights already include the family's offset (GGUF Gemma: the converter stored 1 + w). */
  readonly normsIncludeOffset: boolean;
}

/** `names` with `overrides` applied. */
export function overrideNames(names: NameTable, overrides: NameOverrides | undefined): NameTable {
  if (overrides === undefined) return names;
  return { model: { ...names.model, ...overrides.model }, layer: { ...names.layer, ...overrides.layer } };
}

/** The base name of a model-level tensor, or undefined when the format has none for the role. */
export function modelTensorName(naming: TensorNaming, role: ModelTensorRole): string | undefined {
  return naming.names.model[role];
}

/** The base name of a layer tensor (`expert` for per-expert tensors), or undefined when the format has none. */
export function layerTensorName(
  naming: TensorNaming,
  role: LayerTensorRole,
  layer: number,
  expert?: number,
): string | undefined {
  const template = naming.names.layer[role];
  if (template === undefined) return undefined;
  const named = template.replaceAll('{layer}', String(layer));
  if (!named.includes('{expert}')) return named;
  if (expert === undefined) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `Tensor role '${role}' is stored per expert ('${template}'); pass an expert index.`,
      { details: { role } },
    );
  }
  return named.replaceAll('{expert}', String(expert));
}
