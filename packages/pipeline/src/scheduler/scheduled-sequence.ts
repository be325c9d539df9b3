import type { NormalizedSamplingOptions } from '../sampling/sampling-options.js';
import { type TokenChoice, TokenSampler } from '../sampling/token-sampler.js';
import { deltaOf } from '../generation/logprobs.js';
import { ConstrainedChoice } from '../generation/structured-output.js';
import type { FinishReason, GenerationResult } from '../generation/types.js';
import { StopStringMatcher } from '../text/stop-strings.js';
import type { PipelineTokenizer } from '../text/tokenizer.js';
import { DeltaChannel } from './delta-channel.js';
import type { PrefixBlock } from './prefix-cache.js';
import type { PageTable } from './sequence-pages.js';

/** What a sequence was asked to do, checked by the scheduler. */
export interface SequenceSettings {
  /** Prompt ids (non-empty, in the vocabulary). */
  readonly promptIds: readonly number[];
  /** Normalized sampling options. */
  readonly sampling: NormalizedSamplingOptions;
  /** Most tokens to generate. */
  readonly maxTokens: number;
  /** Ids that end the sequence (end-of-generation ids included unless ignored). */
  readonly stopIds: ReadonlySet<number>;
  /** Stop strings. */
  readonly stop: readonly string[];
  /** −1: no logprobs; 0: the chosen token's; n: and the n most likely. */
  readonly topLogprobs: number;
  /** Put raw logits on each delta. */
  readonly returnLogits: boolean;
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** The output grammar (`responseFormat`, `grammar`, `regex`, `constraint`), when the request has one. */
  readonly constraint?: Parameters<typeof ConstrainedChoice.open>[1];
}

/**
 * One sequence owned by the scheduler: its tokens (the prompt, then each generated token once chosen), how many of them
 * have keys and values in its pages, its page table, its sampler and stop state, and the channel its consumer reads.
 */
export class ScheduledSequence {
  /** Every token that belongs in the cache: the prompt, then the generated tokens. */
  readonly tokens: number[];
  /** Generated tokens (a stop token included). */
  readonly generated: number[] = [];
  /** One page table per page group (empty while it holds no pages: waiting, preempted or finished). */
  tables: PageTable[] = [];
  /** Tokens whose keys and values are written (positions `0 … computed − 1`). */
  computed = 0;
  /** Prefix-cache blocks of this sequence's prompt, in order (matched or published). */
  blocks: PrefixBlock[] = [];
  /** Prompt tokens whose prefill was skipped thanks to the prefix cache (first admission). */
  cachedPromptTokens = 0;
  /** Times it was preempted. */
  preemptions = 0;
  /** Why it ended, once it has. */
  finishReason: FinishReason | undefined;
  /** The output stream. */
  readonly channel = new DeltaChannel();
  private readonly sampler: TokenSampler;
  private readonly decoder: ReturnType<PipelineTokenizer['createStreamDecoder']>;
  private readonly stopper: StopStringMatcher;
  private text = '';
  private stopString: string | undefined;
  private readonly queuedAt = performance.now();
  private startedAt: number | undefined;
  private firstTokenAt: number | undefined;

  /** A sequence with scheduler id `id`. */
  /** The grammar's state (compiled at the first token choice), when the request has a constraint. */
  private constrained: ConstrainedChoice | undefined;

  constructor(
    readonly id: number,
    readonly settings: SequenceSettings,
    private readonly tokenizer: PipelineTokenizer,
    /** Logit columns (the grammar's token mask is padded to them). */
    private readonly logitsSize: number,
  ) {
    this.tokens = settings.promptIds.slice();
    this.sampler = new TokenSampler(settings.sampling);
    this.decoder = tokenizer.createStreamDecoder({ skipSpecial: true });
    this.stopper = new StopStringMatcher(settings.stop);
  }

  /** Whether it has ended (finished, aborted or failed). */
  get isFinished(): boolean {
    return this.finishReason !== undefined || this.channel.isClosed;
  }

  /** Marks the start of its work (first admission). */
  markStarted(): void {
    this.startedAt ??= performance.now();
  }

  /**
   * The token choice of the next step (draws from its seeded generator: call once per chosen token), restricted to
   * what its output grammar allows now when it has one.
   */
  async nextChoice(): Promise<TokenChoice> {
    const choice = this.sampler.next(this.tokens);
    const constraint = this.settings.constraint;
    if (constraint === undefined) return choice;
    this.constrained ??= await ConstrainedChoice.open(this.tokenizer, constraint, this.logitsSize);
    return this.constrained.restrict(choice);
  }

  /** Whether its next row needs logits read back. */
  get wantsLogits(): boolean {
    return this.settings.returnLogits || this.settings.topLogprobs >= 0;
  }

  /**
   * Takes the token chosen by a step: emits its delta and decides whether the sequence goes on (then the token joins
   * `tokens`, to be fed next step). Returns true when the sequence ended.
   */
  accept(token: number, logits: Float32Array | undefined): boolean {
    this.firstTokenAt ??= performance.now();
    this.generated.push(token);
    this.constrained?.accept(token);
    // A complete grammar ends the sequence as its stop token would.
    if (this.settings.stopIds.has(token) || this.constrained?.complete === true) return this.end('stop-token');
    const match = this.stopper.push(this.decoder.push(token));
    this.text += match.text;
    this.channel.push(deltaOf(token, match.text, logits, this.settings.topLogprobs, this.settings.returnLogits));
    if (match.stop !== undefined) {
      this.stopString = match.stop;
      return this.end('stop-string');
    }
    if (this.generated.length >= this.settings.maxTokens) return this.end('max-tokens');
    this.tokens.push(token);
    if (this.tokens.length >= this.settings.contextLength) return this.end('context-full');
    return false;
  }

  /** Ends the sequence with `reason` (releasing held-back text unless a stop string ended it) and closes the stream. */
  end(reason: FinishReason): true {
    if (this.isFinished) return true;
    this.finishReason = reason;
    this.releaseConstraint();
    if (reason !== 'stop-string') {
      const rest = this.stopper.push(this.decoder.flush());
      const tail = rest.text + (rest.stop === undefined ? this.stopper.flush() : '');
      if (rest.stop !== undefined) {
        this.finishReason = 'stop-string';
        this.stopString = rest.stop;
      }
      if (tail.length > 0 && reason !== 'aborted') {
        this.text += tail;
        this.channel.push({ text: tail });
      }
    }
    this.channel.close();
    return true;
  }

  /** Ends the stream with an error (the consumer sees it thrown). */
  fail(error: unknown): void {
    if (this.isFinished) return;
    this.finishReason = 'aborted';
    this.releaseConstraint();
    this.channel.close({ value: error });
  }

  /** Frees the grammar matcher (its WebAssembly memory) once the sequence has ended. */
  private releaseConstraint(): void {
    this.constrained?.dispose();
    this.constrained = undefined;
  }

  /** The result so far (final once it ended). */
  report(): GenerationResult {
    const now = performance.now();
    const started = this.startedAt ?? now;
    const firstToken = this.firstTokenAt ?? now;
    const promptTokens = this.settings.promptIds.length;
    const prefillMs = firstToken - started;
    const decodeMs = now - firstToken;
    const count = this.generated.length;
    return {
      text: this.text,
      tokens: this.generated.slice(),
      finishReason: this.finishReason ?? 'aborted',
      ...(this.stopString === undefined ? {} : { stopString: this.stopString }),
      stats: {
        promptTokens,
        cachedPromptTokens: this.cachedPromptTokens,
        generatedTokens: count,
        queueMs: started - this.queuedAt,
        timeToFirstTokenMs: prefillMs,
        prefillTokensPerSecond: prefillMs > 0 ? ((promptTokens - this.cachedPromptTokens) * 1000) / prefillMs : 0,
        decodeTokensPerSecond: decodeMs > 0 && count > 1 ? ((count - 1) * 1000) / decodeMs : 0,
        totalMs: now - started,
      },
    };
  }
}
