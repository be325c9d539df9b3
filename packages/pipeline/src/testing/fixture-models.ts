/**
 * Test helpers over the fixture models of `shared/fixtures/models` on a backend: each loaded once per test file, and
 * the single-request reference a scheduler's sequences are checked against (TextPipeline over contiguous caches, an
 * independent path). Test-only: not exported from the package.
 */
import { readFileSync } from 'node:fs';
import type { Backend, KeyValuePrecision } from '@strata/core';
import { tokenizerFromModel } from '@strata/loaders';
import { type CompleteModel, loadModel } from '@strata/models';
import type { GenerateOptions, GenerationDelta } from '../generation/types.js';
import { openSource } from '../load/load-text-pipeline.js';
import type { PipelineTokenizer } from '../text/tokenizer.js';
import { TextPipeline } from '../text-pipeline.js';

/** The fixture models' folder. */
export const FIXTURES = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;

/** A fixture model on a backend, its tokenizer and its reference prompt. */
export interface FixtureModel {
  /** The whole model. */
  readonly model: CompleteModel;
  /** Its tokenizer. */
  readonly tokenizer: PipelineTokenizer;
  /** The prompt ids of the fixture's `expected.json`. */
  readonly prompt: readonly number[];
}

/** Loads fixture models onto `backend` with a context of `contextLength`, each once. */
export function fixtureLoader(backend: Backend, contextLength: number): (name: string) => Promise<FixtureModel> {
  const loaded = new Map<string, Promise<FixtureModel>>();
  return (name) => {
    let entry = loaded.get(name);
    if (entry === undefined) {
      entry = (async () => {
        const opened = await openSource(`${FIXTURES}${name}`);
        const model = await loadModel(opened, backend, { contextLength });
        const expected = JSON.parse(readFileSync(`${FIXTURES}${name}/expected.json`, 'utf8')) as {
          input_ids: number[];
        };
        return { model, tokenizer: tokenizerFromModel(opened), prompt: expected.input_ids };
      })();
      loaded.set(name, entry);
    }
    return entry;
  };
}

/**
 * Four prompts of 9, 17, 1 and 18 tokens cut from a fixture's prompt: different lengths, some sharing their first
 * pages (the first two start alike), some not.
 */
export function promptsOf(prompt: readonly number[]): number[][] {
  return [prompt.slice(0, 9), prompt.slice(3, 20), prompt.slice(0, 1), [...prompt.slice(11), ...prompt.slice(0, 5)]];
}

/** The tokens of a generation and the logits of each of its deltas that carry them. */
export async function stepsOf(generation: AsyncIterable<GenerationDelta>) {
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  for await (const delta of generation) {
    if (delta.token !== undefined) tokens.push(delta.token);
    if (delta.logits !== undefined) logits.push(delta.logits);
  }
  return { tokens, logits };
}

/** Where a reference generation runs. */
export interface AloneSettings {
  /** The backend the model lives on. */
  readonly backend: Backend;
  /** Tokens of context. */
  readonly contextLength: number;
  /** The cache type (default f32). */
  readonly cacheType?: KeyValuePrecision;
}

/**
 * The tokens and each step's logits `prompt` gives alone: TextPipeline over contiguous caches (ring buffers for
 * windowed layers), prefilled in chunks of 5.
 */
export async function aloneSteps(
  { model, tokenizer }: FixtureModel,
  prompt: readonly number[],
  options: GenerateOptions,
  settings: AloneSettings,
) {
  const pipeline = TextPipeline.fromParts({
    model,
    backend: settings.backend,
    tokenizer,
    contextLength: settings.contextLength,
    chunkSize: 5,
    cacheType: settings.cacheType ?? 'f32',
  });
  const steps = await stepsOf(pipeline.generate(prompt, options));
  await pipeline.dispose();
  return steps;
}
