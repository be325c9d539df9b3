import type { ForwardRequest, ForwardResult, ModelExecutor } from './executor.js';

/** What a step hook sees: the request, what came back, and the step's wall time (recording, running and reading). */
export interface StepRecord {
  /** The step as it was sent to the executor (ids, first position, token choice, whether logits come back). */
  readonly request: ForwardRequest;
  /** What the step read back: the chosen token and/or the last row's logits. */
  readonly result: ForwardResult;
  /** Wall time of `executor.forward`, in milliseconds (`performance.now()`), from before recording to after the read. */
  readonly milliseconds: number;
}

/**
 * Callbacks around every forward step of a pipeline (tracing, profiling, logging, inspecting logits when they are
 * read). Hooks observe; they do not change what runs.
 */
export interface StepHooks {
  /** Before a step is recorded. */
  readonly beforeStep?: (request: ForwardRequest) => void;
  /** After a step's results were read back. */
  readonly afterStep?: (record: StepRecord) => void;
}

/** Wraps an executor so that `hooks` see every step. */
export function withStepHooks(executor: ModelExecutor, hooks: StepHooks): ModelExecutor {
  return {
    get vocabularySize() {
      return executor.vocabularySize;
    },
    get contextLength() {
      return executor.contextLength;
    },
    get chunkSize() {
      return executor.chunkSize;
    },
    get cacheGeometry() {
      return executor.cacheGeometry;
    },
    async forward(request) {
      hooks.beforeStep?.(request);
      const started = performance.now();
      const result = await executor.forward(request);
      hooks.afterStep?.({ request, result, milliseconds: performance.now() - started });
      return result;
    },
    dispose: () => executor.dispose(),
  };
}
