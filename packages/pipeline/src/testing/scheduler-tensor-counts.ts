/**
 * The live-tensor counts of a scheduler step by step, for the tests that check a step frees what it makes. Test-only:
 * not exported from the package.
 */
import { createScopedBackend } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { createScheduler, type SchedulerRuntimeOptions } from '../scheduler/load-scheduler.js';
import type { SchedulerMetrics } from '../scheduler/scheduler-options.js';
import { fixtureLoader, promptsOf } from './fixture-models.js';

/** What {@link schedulerTensorCounts} saw. */
export interface SchedulerTensorCounts {
  /** Live tensors once the model is loaded and the scheduler made (its KV pools among them). */
  readonly idle: number;
  /** Live tensors after each step. */
  readonly live: readonly number[];
  /** The scheduler's metrics once every request finished, before it closed. */
  readonly metrics: SchedulerMetrics;
  /** Live tensors once the scheduler closed (the model disposed with it). */
  readonly afterClose: number;
}

/**
 * Loads the fixture model `name` onto a scoped CPU backend, makes a scheduler over it with `options`, runs the first
 * three prompts of {@link promptsOf} at once (20 greedy tokens each, end of generation ignored), closes it, and
 * returns the live-tensor counts before, during and after.
 */
export async function schedulerTensorCounts(
  name: string,
  options: SchedulerRuntimeOptions & { readonly contextLength: number },
): Promise<SchedulerTensorCounts> {
  const scoped = createScopedBackend(createCpuBackend());
  const { model, tokenizer, prompt } = await fixtureLoader(scoped, options.contextLength)(name);
  const engine = createScheduler({ model, backend: scoped, tokenizer, ...options });
  const idle = scoped.liveTensors;
  const live: number[] = [];
  engine.observeSteps(() => live.push(scoped.liveTensors));
  const prompts = promptsOf(prompt).slice(0, 3);
  await Promise.all(
    prompts.map((tokens) => engine.submit(tokens, { maxTokens: 20, ignoreEndOfGeneration: true }).result),
  );
  const metrics = engine.metrics;
  await engine.close();
  return { idle, live, metrics, afterClose: scoped.liveTensors };
}
