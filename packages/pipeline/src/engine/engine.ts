import { StrataError } from '@strata/core';
import type { Generation } from '../generation/generation.js';
import type { ChatMessage } from '../text/tokenizer.js';
import type { LoadTextPipelineOptions, ModelSource } from '../load/load-text-pipeline.js';
import { type ChatOptions, type Prompt, TextPipeline } from '../text-pipeline.js';

/** A request to an {@link Engine}: which model, and a prompt or a conversation. */
export type EngineRequest = ChatOptions & { readonly model: string } & (
    | { readonly prompt: Prompt; readonly messages?: never }
    | { readonly messages: readonly ChatMessage[]; readonly prompt?: never }
  );

/** What the engine knows of a hosted pipeline. */
export interface EngineModelInfo {
  /** The name requests use. */
  readonly name: string;
  /** Tokens of context. */
  readonly contextLength: number;
  /** Requests waiting or running. */
  readonly pendingRequests: number;
}

/**
 * Hosts several pipelines by name and dispatches requests to them. Requests for one pipeline run one after another in
 * arrival order (its sequence queue), so outputs never mix; requests for different pipelines run concurrently.
 */
export class Engine {
  private readonly pipelines = new Map<string, TextPipeline>();

  /** Hosts `pipeline` under `name` (replacing nothing: the name must be free). */
  add(name: string, pipeline: TextPipeline): this {
    if (this.pipelines.has(name)) {
      throw new StrataError('INVALID_ARGUMENT', `The engine already hosts a model named '${name}'; remove it first.`);
    }
    this.pipelines.set(name, pipeline);
    return this;
  }

  /** Loads a model (see `TextPipeline.load`) and hosts it under `name`. */
  async load(name: string, source: ModelSource, options: LoadTextPipelineOptions): Promise<TextPipeline> {
    if (this.pipelines.has(name)) {
      throw new StrataError('INVALID_ARGUMENT', `The engine already hosts a model named '${name}'; remove it first.`);
    }
    const pipeline = await TextPipeline.load(source, options);
    this.add(name, pipeline);
    return pipeline;
  }

  /** Stops hosting `name`, disposing its pipeline once its queued requests finished. */
  async remove(name: string): Promise<void> {
    const pipeline = this.pipeline(name);
    this.pipelines.delete(name);
    await pipeline.dispose();
  }

  /** The hosted models. */
  list(): EngineModelInfo[] {
    return [...this.pipelines].map(([name, pipeline]) => ({
      name,
      contextLength: pipeline.contextLength,
      pendingRequests: pipeline.pendingRequests,
    }));
  }

  /** The pipeline hosted as `name` (`INVALID_ARGUMENT` naming the hosted ones when there is none). */
  pipeline(name: string): TextPipeline {
    const pipeline = this.pipelines.get(name);
    if (pipeline === undefined) {
      const hosted = [...this.pipelines.keys()].join(', ') || 'none';
      throw new StrataError('INVALID_ARGUMENT', `No model named '${name}' is hosted (hosted: ${hosted}).`, {
        details: { model: name },
      });
    }
    return pipeline;
  }

  /** Queues a request on its model's pipeline; iterate the generation or await its result. */
  submit(request: EngineRequest): Generation {
    const { model, prompt, messages, ...options } = request;
    const pipeline = this.pipeline(model);
    return messages === undefined ? pipeline.generate(prompt as Prompt, options) : pipeline.chat(messages, options);
  }

  /** Disposes every hosted pipeline. */
  async dispose(): Promise<void> {
    const pipelines = [...this.pipelines.values()];
    this.pipelines.clear();
    await Promise.all(pipelines.map((pipeline) => pipeline.dispose()));
  }
}
