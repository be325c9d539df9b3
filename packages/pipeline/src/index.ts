/** @packageDocumentation @strata/pipeline — see README.md. */
export {
  allocateLayerCaches,
  cacheCapacity,
  canResumeAt,
  disposeLayerCaches,
  type CacheGeometry,
  type LayerCaches,
} from './cache/layer-caches.js';
export { SequenceState } from './cache/sequence-state.js';
export type { ForwardRequest, ForwardResult, ModelExecutor } from './generation/executor.js';
export { Generation } from './generation/generation.js';
export { LocalExecutor, type LocalExecutorOptions } from './generation/local-executor.js';
export { logprobsOf } from './generation/logprobs.js';
export { type StepHooks, type StepRecord, withStepHooks } from './generation/step-hooks.js';
export type {
  FinishReason,
  GenerateOptions,
  GenerationDelta,
  GenerationResult,
  GenerationStats,
  TokenLogprob,
} from './generation/types.js';
export { SeededRandom } from './sampling/random.js';
export {
  normalizeSamplingOptions,
  type NormalizedSamplingOptions,
  type SamplingOptions,
} from './sampling/sampling-options.js';
export { chooseToken, countPenaltyWindow, TokenSampler, type TokenChoice } from './sampling/token-sampler.js';
export { StopStringMatcher, type StopMatch } from './text/stop-strings.js';
export type { ChatMessage, PipelineChatTemplate, PipelineTokenizer } from './text/tokenizer.js';
export {
  checkContextOverflow,
  type ContextOverflow,
  type ConversationBudget,
  dropOldestTurns,
  type FittedConversation,
  fitConversation,
} from './text/fit-conversation.js';
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_CONTEXT_LENGTH,
  TextPipeline,
  type CacheType,
  type ChatOptions,
  checkCacheType,
  checkRuntimeOptions,
  type ExecutorPipelineParts,
  type Prompt,
  type RuntimeOptions,
  type TextPipelineParts,
} from './text-pipeline.js';
export { Engine, type EngineModelInfo, type EngineRequest } from './engine/engine.js';
export { messagePortTransport, serveStageOnPort, type MessagePortLike } from './stages/message-port-transport.js';
export {
  expectReply,
  StageServer,
  type StageRuntimeOptions,
  type StageServerOptions,
} from './stages/stage-server.js';
export { createStagedExecutor, type StagedExecutorOptions } from './stages/staged-executor.js';
export {
  inProcessTransport,
  type StageHandler,
  type StageReply,
  type StageRequest,
  type Transport,
} from './stages/transport.js';
export {
  chatTemplateOf,
  type LoadTextPipelineOptions,
  loadTextPipeline,
  type ModelSource,
} from './load/load-text-pipeline.js';
export {
  type EmbeddingPipelineParts,
  type EmbedOptions,
  EmbeddingPipeline,
  type LoadEmbeddingPipelineOptions,
} from './embedding/embedding-pipeline.js';
export { tokenizeForEmbedding } from './embedding/truncation.js';
export { type LoadProgress, trackProgress } from './load/progress-store.js';
export {
  type BenchmarkOptions,
  type BenchmarkResult,
  benchmarkPipeline,
  checkBenchmarkOptions,
  type RateSummary,
} from './benchmark/benchmark.js';
export { PageAllocator } from './scheduler/page-allocator.js';
export {
  type GroupPage,
  PrefixCache,
  type PrefixBlock,
  type PrefixCacheCounters,
} from './scheduler/prefix-cache.js';
export {
  budgetTokensOf,
  defaultGroupPages,
  groupLayersByWindow,
  type LayerGrouping,
  type PageBudgetShape,
  splitPageBudget,
  windowedPagesPerSequence,
} from './scheduler/page-groups.js';
export type {
  PageCopyingExecutor,
  PageGroup,
  PageSharingExecutor,
  StepExecutor,
  StepExecutorBase,
  StepRow,
  StepRowResult,
} from './scheduler/step-executor.js';
export {
  type AheadRow,
  type LaunchedStep,
  type StepAheadExecutor,
  supportsStepAhead,
} from './scheduler/step-ahead-executor.js';
export type { StepAheadCounters } from './scheduler/step-ahead.js';
export {
  PerSequenceStepExecutor,
  type PerSequenceStepExecutorOptions,
} from './scheduler/per-sequence-executor.js';
export {
  type BatchableModel,
  BatchedStepExecutor,
  type BatchedStepExecutorOptions,
} from './scheduler/batched-executor.js';
export { PagedKeyValuePool, type PagedPoolShape } from './cache/paged-pool.js';
export { Scheduler } from './scheduler/scheduler.js';
export type {
  PageGroupMetrics,
  SchedulerMetrics,
  SchedulerOptions,
  SchedulerParts,
  StepReport,
} from './scheduler/scheduler-options.js';
export {
  createScheduler,
  createStepExecutor,
  DEFAULT_PAGE_SIZE,
  type LoadSchedulerOptions,
  loadScheduler,
  type SchedulerModelParts,
  type SchedulerRuntimeOptions,
  type StepExecutorLayout,
} from './scheduler/load-scheduler.js';
export {
  type ApiModel,
  type ChatCompletions,
  type Completions,
  type CreateOptions,
  OpenAICompatibleApi,
} from './openai/openai-api.js';
export {
  type CheckedChatRequest,
  type CheckedCompletionRequest,
  type CheckedRequest,
  checkChatRequest,
  checkCompletionRequest,
} from './openai/check-request.js';
export { toOpenAIError } from './openai/openai-error.js';
export {
  createEmbeddings,
  type EmbeddingApiModel,
  type EmbeddingData,
  type EmbeddingRequest,
  type EmbeddingResponse,
} from './openai/embeddings.js';
export type * from './openai/openai-types.js';
