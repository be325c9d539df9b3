import { type Backend, StrataError } from '@strata/core';
import type { ModelFiles } from '@strata/loaders';
import { LanguageModelHead, Linear, TokenEmbedding } from '@strata/primitives';
import { parseGgufConfig } from '../config/gguf-config.js';
import { parseHuggingFaceConfig } from '../config/huggingface-config.js';
import type { TransformerConfig } from '../config/transformer-config.js';
import type { LayerRange } from '../model/capabilities.js';
import { ggufNaming } from '../naming/gguf-naming.js';
import { huggingFaceNaming } from '../naming/huggingface-naming.js';
import type { TensorNaming } from '../naming/tensor-naming.js';
import type { FamilyRegistry } from '../registry/family-registry.js';
import type { ModelFamily } from '../registry/model-family.js';
import { WeightSource } from '../weights/weight-source.js';
import { loadTransformerLayers, resolveLayerRange } from './layer-loader.js';
import { RoleWeights } from './role-weights.js';
import { RopeTables } from './rope-tables.js';
import { assembleTransformer, type CompleteTransformer, type TransformerPart } from './transformer-model.js';

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Layers to load (pipeline stages); default all. Without layer 0 there is no `embed`, without the last no `lmHead`. */
  readonly layerRange?: LayerRange;
  /** The context length the caller will run (LongRoPE picks its factors by it); default the model's. */
  readonly contextLength?: number;
}

/** A model's family, config and naming, resolved from its files before any weight is read. */
export interface ResolvedModel {
  /** The family. */
  readonly family: ModelFamily;
  /** The normalized config. */
  readonly config: TransformerConfig;
  /** The files' naming, with the family's overrides. */
  readonly naming: TensorNaming;
}

/** Resolves family, config and naming of opened model files (`UNKNOWN_ARCHITECTURE`, `INVALID_CONFIG`). */
export function resolveModel(files: ModelFiles, registry: FamilyRegistry): ResolvedModel {
  if (files.format === 'gguf') {
    const architecture = files.metadata.findString('general.architecture');
    if (architecture === undefined) {
      throw new StrataError(
        'MISSING_METADATA',
        `${files.name} has no 'general.architecture'; it is not a model GGUF.`,
        { details: { name: files.name } },
      );
    }
    const family = registry.resolve('gguf', architecture);
    const naming = ggufNaming(architecture, family.naming?.gguf);
    const embeddingName = naming.names.model.tokenEmbedding;
    const embedding = embeddingName === undefined ? undefined : files.tensors.tensors.get(`${embeddingName}.weight`);
    const hints = embedding === undefined ? {} : { embeddingRows: embedding.shape[0] as number };
    return { family, config: parseGgufConfig(files.metadata, family.defaults, hints), naming };
  }
  const modelType = files.config.model_type;
  if (typeof modelType !== 'string') {
    throw new StrataError(
      'INVALID_CONFIG',
      `${files.name}: config.json has no 'model_type'; cannot tell the architecture.`,
      { details: { name: files.name } },
    );
  }
  const family = registry.resolve('huggingface', modelType);
  return {
    family,
    config: parseHuggingFaceConfig(files.config, family.defaults),
    naming: huggingFaceNaming(family.naming?.huggingFace),
  };
}

/**
 * Loads a model (or the part of it in `layerRange`) from opened files onto a backend: one definition per family, the
 * format's naming maps the tensors. Without a layer range the result is a {@link CompleteTransformer}.
 */
export async function loadModelWith(
  registry: FamilyRegistry,
  files: ModelFiles,
  backend: Backend,
  options: LoadModelOptions = {},
): Promise<TransformerPart> {
  const { family, config: parsed, naming } = resolveModel(files, registry);
  const weights = new WeightSource(files.tensors, backend);
  const roles = new RoleWeights(parsed, weights, naming);
  const tied = parsed.tiedEmbeddings || !roles.hasModel('output');
  const config: TransformerConfig =
    tied === parsed.tiedEmbeddings ? parsed : Object.freeze({ ...parsed, tiedEmbeddings: tied });
  const layerRange = resolveLayerRange(config, options.layerRange);
  const factorsName = roles.modelName('ropeFrequencies');
  const frequencyFactors =
    factorsName !== undefined && weights.has(factorsName) ? Array.from(await weights.floats(factorsName)) : undefined;
  const rope = new RopeTables(config, naming, {
    ...(options.contextLength === undefined ? {} : { contextLength: options.contextLength }),
    ...(frequencyFactors === undefined ? {} : { frequencyFactors }),
  });
  const embeddingName = roles.modelName('tokenEmbedding') as string;
  const needsTable = layerRange.start === 0 || (layerRange.end === config.layerCount && tied);
  const table = needsTable
    ? await weights.tensor(embeddingName, [config.vocabularySize, config.hiddenSize])
    : undefined;
  const embedding =
    layerRange.start === 0 && table !== undefined ? new TokenEmbedding(table, config.embeddingScale) : undefined;
  const blocks = await loadTransformerLayers(config, weights, naming, {
    layerRange,
    rope,
    ...(family.customize === undefined ? {} : { customize: family.customize }),
  });
  let head: LanguageModelHead | undefined;
  if (layerRange.end === config.layerCount) {
    const norm = await roles.modelNorm('outputNorm', config.hiddenSize);
    const projection =
      tied && table !== undefined
        ? table
        : await weights.tensor(roles.modelName('output') as string, [config.vocabularySize, config.hiddenSize]);
    const biasName = tied ? undefined : roles.modelName('output', 'bias');
    const bias =
      biasName !== undefined && weights.has(biasName)
        ? await weights.vector(biasName, config.vocabularySize)
        : undefined;
    head = new LanguageModelHead(norm, new Linear(projection, bias), config.finalSoftcap);
  }
  return assembleTransformer({
    config,
    backend,
    layerRange,
    blocks,
    embedding,
    head,
    dispose: () => weights.dispose(),
  });
}

/** {@link loadModelWith} for the whole model: the result embeds and has a head. */
export async function loadCompleteModelWith(
  registry: FamilyRegistry,
  files: ModelFiles,
  backend: Backend,
  options: Omit<LoadModelOptions, 'layerRange'> = {},
): Promise<CompleteTransformer> {
  const model = await loadModelWith(registry, files, backend, options);
  if (model.part !== 'complete') throw new StrataError('INVALID_ARGUMENT', 'Expected a complete model.');
  return model;
}
