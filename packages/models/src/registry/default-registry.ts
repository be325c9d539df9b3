import { gemma } from '../gemma/index.js';
import { gemma2 } from '../gemma2/index.js';
import { gemma3 } from '../gemma3/index.js';
import { llama } from '../llama/index.js';
import { phi2 } from '../phi2/index.js';
import { phi3 } from '../phi3/index.js';
import { qwen2 } from '../qwen2/index.js';
import { qwen3 } from '../qwen3/index.js';
import { qwen3Moe } from '../qwen3-moe/index.js';
import { starcoder2 } from '../starcoder2/index.js';
import { FamilyRegistry } from './family-registry.js';
import type { ModelFamily } from './model-family.js';

/** Every family strata ships, in one explicit list (add a family: one import and one entry). */
export const DEFAULT_FAMILIES: readonly ModelFamily[] = Object.freeze([
  llama,
  qwen2,
  qwen3,
  qwen3Moe,
  phi2,
  phi3,
  starcoder2,
  gemma,
  gemma2,
  gemma3,
]);

/** The registry of {@link DEFAULT_FAMILIES}. */
export const DEFAULT_REGISTRY: FamilyRegistry = new FamilyRegistry(DEFAULT_FAMILIES);
