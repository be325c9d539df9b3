import { StrataError } from '@strata/core';
import { Generation, type GenerationChannel } from '../generation/generation.js';
import type { GenerateOptions } from '../generation/types.js';
import { normalizeSamplingOptions } from '../sampling/sampling-options.js';
import type { ChatMessage, PipelineChatTemplate, PipelineTokenizer } from '../text/tokenizer.js';
import { planAhead } from './ahead-planner.js';
import { KeyValuePages } from './key-value-pages.js';
import { ScheduledSequence } from './scheduled-sequence.js';
import { checkSequenceRequest } from './sequence-request.js';
import {
  resolveSchedulerOptions,
  type PageGroupMetrics,
  type SchedulerMetrics,
  type SchedulerOptions,
  type SchedulerParts,
  type StepReport,
} from './scheduler-options.js';
import { StepAhead } from './step-ahead.js';
import { supportsStepAhead } from './step-ahead-executor.js';
import type { StepExecutor, StepRow } from './step-executor.js';
import { runWarmUp } from './warm-up.js';

/** The scheduler's counters at their start (the `totals` of {@link SchedulerMetrics}). */
const freshTotals = () => ({ promptTokens: 0, generatedTokens: 0, preemptions: 0, steps: 0, requests: 0 });

/**
 * Resolves on the next macrotask, so I/O (HTTP requests, aborts) runs between engine steps: `setImmediate` where it
 * exists (Node: right after pending I/O, without the 1 ms floor of timers), a timer otherwise.
 */
const nextTask = (): Promise<void> =>
  new Promise((resolve) => {
    const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
    if (immediate === undefined) setTimeout(resolve, 0);
    else immediate(resolve);
  });

/**
 * Owns many sequences at once and advances every running one by one step per engine step (continuous batching: a
 * sequence joins or leaves between steps). Each sequence has its own sampling, stop conditions, `AbortSignal` and
 * page tables (one per page group: full-attention layers, each sliding window) into one KV memory budget; a bounded
 * queue holds the waiting ones. Pages that fall out of a windowed group's window are given back as a sequence
 * advances. When pages run out, cached prefix pages are evicted, then the newest running sequence is preempted (pages
 * freed, recomputed when readmitted, with the same tokens). Prompt blocks are published to a prefix cache so a request
 * that starts the same way prefills only its own tokens. The forward itself is the {@link StepExecutor}'s; an executor
 * that can launch steps ahead runs each greedy decode step while the previous one is read back ({@link StepAhead}).
 */
export class Scheduler {
  /** Tokens per page. */
  readonly pageSize: number;
  private readonly options: ReturnType<typeof resolveSchedulerOptions>;
  /** The page pools of every group and the prefix cache. */
  private readonly pages: KeyValuePages;
  private readonly waiting: ScheduledSequence[] = [];
  private readonly running: ScheduledSequence[] = [];
  private readonly inStep = new Set<ScheduledSequence>();
  private nextId = 1;
  private loop: Promise<void> | undefined;
  private closed = false;
  private readonly stepListeners = new Set<(report: StepReport) => void>();
  private totals = freshTotals();

  /** Text ↔ ids. */
  readonly tokenizer: PipelineTokenizer;
  /** The chat template, if the model has one. */
  readonly chatTemplate: PipelineChatTemplate | undefined;
  private readonly executor: StepExecutor;
  /** Steps launched one ahead, when the executor can and `stepAhead` allows it. */
  private readonly stepAhead: StepAhead | undefined;
  private readonly onClose: (() => void) | undefined;

  /** A scheduler over `parts.executor`; `options` size the queue, the parallelism and the KV budget. */
  constructor(parts: SchedulerParts, options: SchedulerOptions = {}) {
    this.executor = parts.executor;
    this.tokenizer = parts.tokenizer;
    this.chatTemplate = parts.chatTemplate;
    this.onClose = parts.onClose;
    const executor = this.executor;
    this.options = resolveSchedulerOptions(options, executor);
    this.pageSize = executor.pageSize;
    this.pages = new KeyValuePages(executor, this.options.groupPages);
    const ahead = supportsStepAhead(executor) && (this.options.stepAhead ?? executor.deferred);
    this.stepAhead = ahead ? new StepAhead(executor) : undefined;
  }

  /** Tokens one sequence may hold. */
  get contextLength(): number {
    return this.executor.contextLength;
  }

  /** Logit columns. */
  get vocabularySize(): number {
    return this.executor.vocabularySize;
  }

  /** Counters and gauges for metrics and tests. */
  get metrics(): SchedulerMetrics {
    const pageGroups = this.pages.groupMetrics;
    const sum = (read: (group: PageGroupMetrics) => number) =>
      pageGroups.reduce((total, group) => total + read(group), 0);
    return {
      waiting: this.waiting.length,
      running: this.running.length,
      totalPages: sum((group) => group.totalPages),
      usedPages: sum((group) => group.usedPages),
      freePages: sum((group) => group.freePages),
      bytesPerPage: sum((group) => group.bytesPerPage),
      pageGroups,
      prefixCache: this.pages.prefixCache.counters,
      stepsAhead: this.stepAhead?.counters ?? { launched: 0, used: 0, dropped: 0 },
      ...this.totals,
    };
  }

  /** Calls `listener` after every engine step (a server's step-time histogram); returns the function that stops it. */
  observeSteps(listener: (report: StepReport) => void): () => void {
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  /**
   * Queues a generation of `promptIds`. Options are checked here (typed `StrataError`s): bad sampling options, an
   * empty or out-of-vocabulary prompt, a prompt that does not fit the context (`CONTEXT_OVERFLOW`), a full queue
   * (`INVALID_ARGUMENT` with `details.queueFull`), a request the KV budget could never hold. Iterate the returned
   * generation or await its result; aborting its signal or breaking out of the loop frees its pages at once (after
   * the step in flight).
   */
  submit(promptIds: readonly number[], options: GenerateOptions = {}): Generation {
    if (this.closed) throw new StrataError('ABORTED', 'The scheduler is shutting down; no new requests are taken.');
    const sequence = new ScheduledSequence(
      this.nextId++,
      this.settingsOf(promptIds, options),
      this.tokenizer,
      this.executor.vocabularySize,
    );
    if (this.waiting.length >= this.options.maxWaiting) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `The queue is full (${this.options.maxWaiting} requests waiting); retry later.`,
        { details: { queueFull: true, maxWaiting: this.options.maxWaiting } },
      );
    }
    const signal = options.signal;
    if (signal?.aborted === true) sequence.end('aborted');
    else {
      this.totals.requests++;
      this.waiting.push(sequence);
      signal?.addEventListener('abort', () => this.abort(sequence), { once: true });
      this.kick();
    }
    return new Generation((channel) => this.stream(sequence, channel));
  }

  /**
   * Runs a few short generations whose steps take the shapes serving meets first (`warm-up.ts`), then forgets them:
   * the prefix cache is emptied and the counters start again. A backend that builds its kernels on first use (WebGPU)
   * then builds them here, not in the middle of the first requests. Call it before taking requests; resolves to the
   * number of generations run.
   */
  async warmUp(): Promise<number> {
    const runs = await runWarmUp({
      submit: (ids, options) => this.submit(ids, options),
      contextLength: this.contextLength,
      vocabularySize: this.vocabularySize,
      parallel: this.options.parallel,
    });
    this.pages.clear();
    this.totals = freshTotals();
    return runs;
  }

  /**
   * Stops taking requests, ends every waiting and running sequence with an `ABORTED` error (their consumers see it),
   * waits for the step in flight, then releases every page and the executor.
   */
  async close(reason = 'The server is shutting down.'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new StrataError('ABORTED', reason);
    for (const sequence of [...this.waiting, ...this.running]) sequence.fail(error);
    await this.loop;
    for (const sequence of [...this.running]) this.retire(sequence);
    this.waiting.length = 0;
    await this.stepAhead?.cancel();
    this.pages.clear();
    await this.executor.dispose();
    this.onClose?.();
  }

  /** Tokenizes `prompt` (text with special tokens unless `addSpecialTokens: false`, or ids) and {@link submit}s it. */
  generate(prompt: string | ArrayLike<number>, options: GenerateOptions = {}): Generation {
    const ids =
      typeof prompt === 'string'
        ? this.tokenizer.encode(prompt, { addSpecial: options.addSpecialTokens ?? true, parseSpecial: true })
        : Array.from(prompt);
    return this.submit(ids, options);
  }

  /** Renders `messages` with the chat template (adding the assistant's turn header) and generates the reply. */
  chat(messages: readonly ChatMessage[], options: GenerateOptions = {}): Generation {
    return this.generate(this.renderChat(messages), {
      ...options,
      addSpecialTokens: options.addSpecialTokens ?? false,
    });
  }

  /**
   * The prompt text {@link chat} generates from (`TEMPLATE_NOT_FOUND` without a chat template); `tools` (OpenAI's
   * function definitions) are handed to the template as its `tools` variable.
   */
  renderChat(messages: readonly ChatMessage[], tools?: readonly unknown[]): string {
    if (this.chatTemplate === undefined) {
      throw new StrataError(
        'TEMPLATE_NOT_FOUND',
        'This model has no chat template; send a prompt instead of messages.',
      );
    }
    return this.chatTemplate.render({ messages, addGenerationPrompt: true, ...(tools === undefined ? {} : { tools }) });
  }

  /** Hands the sequence's deltas to its `Generation`; a consumer that stops reading aborts the sequence. */
  private async stream(
    sequence: ScheduledSequence,
    channel: GenerationChannel,
  ): Promise<ReturnType<ScheduledSequence['report']>> {
    const stop = () => {
      if (!sequence.isFinished) this.abort(sequence);
    };
    channel.stopped.addEventListener('abort', stop, { once: true });
    try {
      for await (const delta of sequence.channel) await channel.emit(delta);
    } finally {
      channel.stopped.removeEventListener('abort', stop);
      // Ending early (an error, a client gone) aborts the sequence: its pages are freed now or after this step.
      stop();
    }
    return sequence.report();
  }

  private abort(sequence: ScheduledSequence): void {
    if (sequence.isFinished && !this.running.includes(sequence) && !this.waiting.includes(sequence)) return;
    sequence.end('aborted');
    const waitingAt = this.waiting.indexOf(sequence);
    if (waitingAt >= 0) this.waiting.splice(waitingAt, 1);
    if (!this.inStep.has(sequence)) this.retire(sequence);
  }

  private kick(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      if (!this.closed && this.waiting.length > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    await nextTask();
    while (!this.closed) {
      this.admit();
      if (this.running.length === 0) {
        await this.stepAhead?.cancel(); // nothing goes on: the guess in flight is void
        return;
      }
      await this.step();
      await nextTask();
    }
  }

  /** Moves waiting sequences to running while there is room, oldest first. */
  private admit(): void {
    while (this.waiting.length > 0 && this.running.length < this.options.parallel) {
      const sequence = this.waiting[0]!;
      const tokens = sequence.tokens;
      let matched = this.options.prefixCache
        ? this.pages.prefixCache.match(tokens, Math.floor((tokens.length - 1) / this.pageSize))
        : [];
      // Room for the known part (prompt and what it generated before a preemption; a windowed group: its first chunk),
      // so admission never thrashes.
      let admitted = this.pages.admit(sequence, matched);
      if (!admitted && matched.length > 0 && this.running.length === 0) {
        matched = []; // a lone sequence always fits without its cached prefix (checked at submit)
        admitted = this.pages.admit(sequence, matched);
      }
      if (!admitted) return;
      this.waiting.shift();
      sequence.markStarted();
      sequence.blocks = matched.slice();
      sequence.computed = matched.length * this.pageSize;
      if (sequence.preemptions === 0) sequence.cachedPromptTokens = sequence.computed;
      this.running.push(sequence);
    }
  }

  /** One engine step: a row for every running sequence (decode tokens first, then prefill chunks within the budget). */
  private async step(): Promise<void> {
    const started = performance.now();
    let budget = Math.max(this.options.stepTokenBudget, this.running.length);
    const plans: { sequence: ScheduledSequence; end: number }[] = [];
    const ordered = [...this.running].sort(
      (a, b) => a.tokens.length - a.computed - (b.tokens.length - b.computed) || a.id - b.id,
    );
    for (const sequence of ordered) {
      const remaining = sequence.tokens.length - sequence.computed;
      let end = sequence.computed + Math.min(remaining, Math.max(1, budget), this.executor.chunkSize);
      if (end < sequence.tokens.length) {
        // Prefill chunks end on page boundaries so each prompt page is written within one step (prefix publishing).
        const aligned = Math.floor(end / this.pageSize) * this.pageSize;
        if (aligned > sequence.computed) end = aligned;
      }
      budget -= end - sequence.computed;
      plans.push({ sequence, end });
    }
    // Pages for every row, oldest sequence first; running out evicts cached blocks, then preempts the newest (which is
    // never one already served, as those are older). Token choices are drawn only for rows that run.
    const served = plans
      .sort((a, b) => a.sequence.id - b.sequence.id)
      .filter(({ sequence, end }) => this.running.includes(sequence) && this.ensurePages(sequence, end));
    const active: { sequence: ScheduledSequence; end: number; row: StepRow }[] = [];
    for (const { sequence, end } of served) {
      const last = end === sequence.tokens.length;
      let choice: Awaited<ReturnType<ScheduledSequence['nextChoice']>> | undefined;
      try {
        // A grammar that cannot be compiled (an unsupported schema) fails its own sequence, not the step.
        choice = last ? await sequence.nextChoice() : undefined;
      } catch (error) {
        sequence.fail(error);
        this.retire(sequence);
        continue;
      }
      this.inStep.add(sequence);
      const row: StepRow = {
        sequence: sequence.id,
        ids: Int32Array.from(sequence.tokens.slice(sequence.computed, end)),
        firstPosition: sequence.computed,
        pageTables: sequence.tables.map((table) => table.pages.slice()),
        ...(choice === undefined ? {} : { choice, returnLogits: sequence.wantsLogits }),
      };
      active.push({ sequence, end, row });
    }
    const rows = active.map(({ row }) => row);
    let ahead = false;
    try {
      const { results, ...step } = await this.runStep(rows, active);
      ahead = step.ahead;
      active.forEach(({ sequence, end, row }, index) => {
        const before = sequence.computed;
        sequence.computed = end;
        this.totals.promptTokens += Math.max(0, Math.min(end, sequence.settings.promptIds.length) - before);
        this.pages.advance(sequence, before, this.options.prefixCache);
        const result = results[index]!;
        if (row.choice !== undefined && result.token !== undefined && !sequence.isFinished) {
          this.totals.generatedTokens++;
          sequence.accept(result.token, result.logits);
        }
      });
    } catch (error) {
      for (const { sequence } of active) sequence.fail(error);
    } finally {
      for (const { sequence } of active) {
        this.inStep.delete(sequence);
        if (sequence.isFinished) this.retire(sequence);
      }
    }
    this.totals.steps++;
    const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0);
    const report = { milliseconds: performance.now() - started, rows: rows.length, tokens, ahead };
    this.options.onStep?.(report);
    for (const listener of this.stepListeners) listener(report);
  }

  /** Runs the step's rows through the executor, or through {@link StepAhead} (launching the next step if it can). */
  private async runStep(rows: readonly StepRow[], active: readonly { sequence: ScheduledSequence; row: StepRow }[]) {
    if (this.stepAhead === undefined) return { results: await this.executor.step(rows), ahead: false };
    const queue = { waiting: this.waiting.length, running: this.running.length, parallel: this.options.parallel };
    return this.stepAhead.step(rows, planAhead(active, this.pages, queue));
  }

  /** Gives `sequence` the pages of every group for positions up to `end`; false when it was preempted itself. */
  private ensurePages(sequence: ScheduledSequence, end: number): boolean {
    for (;;) {
      if (this.pages.extend(sequence, end)) return true;
      let newest: ScheduledSequence | undefined;
      for (const other of this.running) if (newest === undefined || other.id > newest.id) newest = other;
      if (newest === undefined) return false;
      this.preempt(newest);
      if (newest === sequence) return false;
    }
  }

  /** Frees a running sequence's pages and puts it first in the queue; it recomputes its tokens when readmitted. */
  private preempt(sequence: ScheduledSequence): void {
    this.release(sequence);
    this.running.splice(this.running.indexOf(sequence), 1);
    sequence.computed = 0;
    sequence.blocks = [];
    sequence.preemptions++;
    this.totals.preemptions++;
    this.waiting.unshift(sequence);
  }

  /** Removes a finished sequence from the running set and frees its pages. */
  private retire(sequence: ScheduledSequence): void {
    const at = this.running.indexOf(sequence);
    if (at >= 0) this.running.splice(at, 1);
    this.release(sequence);
  }

  /** Gives back the sequence's pages (own ones freed, shared ones unpinned) and its executor storage. */
  private release(sequence: ScheduledSequence): void {
    this.pages.release(sequence);
    this.executor.release(sequence.id);
  }

  private settingsOf(promptIds: readonly number[], options: GenerateOptions) {
    return checkSequenceRequest(promptIds, options, {
      vocabularySize: this.executor.vocabularySize,
      contextLength: this.executor.contextLength,
      budgetTokens: this.options.budgetTokens,
      endOfGenerationIds: this.tokenizer.endOfGenerationIds,
      normalize: normalizeSamplingOptions,
    });
  }
}
