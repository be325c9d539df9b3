/**
 * The Complete tab: a prompt (text, or token ids) streamed through OpenAI's `completions.create` (`@strata/pipeline`'s
 * {@link Completions}), its text, a live token count, then its figures, its token ids (`return_tokens`) and, with token
 * probabilities, each token's log-probability and the step's most likely tokens (`logprobs`).
 */
import type { CompletionLogprobs, Completions, OpenAIUsage } from '@strata/pipeline';
import { formatStats, parseTokenIds, streamStats } from './format.js';
import { type RequestOptions, requestFields } from './request-options.js';

/** The page elements the Complete tab uses. */
export interface CompleteElements {
  readonly prompt: HTMLTextAreaElement;
  readonly promptIds: HTMLInputElement;
  readonly showProbabilities: HTMLInputElement;
  readonly output: HTMLPreElement;
  readonly stats: HTMLParagraphElement;
  readonly tokenIds: HTMLElement;
  readonly tokenList: HTMLOListElement;
}

/** What the Complete tab needs from the page around it. */
export interface CompleteHost {
  /** The name of the loaded model (the `model` of requests). */
  readonly model: () => string;
  /** The sampling options of the form. */
  readonly requestOptions: () => RequestOptions;
  /** Marks the page busy (a request runs) or idle. */
  readonly setBusy: (busy: boolean) => void;
  /** Shows an error under the prompt (the request's, or a prompt that is no list of token ids). */
  readonly showError: (error: unknown) => void;
  /** Hides that error. */
  readonly clearError: () => void;
}

/**
 * One generated token (as its text) with its probability and the step's most likely tokens, from a completion chunk's
 * logprobs (kept as data for scripts too; the token's id is added when the completion ends).
 */
function tokenItem(logprobs: CompletionLogprobs, index: number): HTMLLIElement {
  const item = document.createElement('li');
  const token = logprobs.tokens[index] ?? '';
  const logprob = logprobs.token_logprobs[index] ?? 0;
  // A JSON object's keys keep no order of their own (integer-like ones come first): most likely first.
  const alternatives = Object.entries(logprobs.top_logprobs[index] ?? {}).sort((left, right) => right[1] - left[1]);
  const probability = (value: number) => Math.exp(value).toFixed(3);
  item.dataset.text = token;
  item.dataset.logprob = String(logprob);
  item.dataset.alternatives = JSON.stringify(alternatives);
  const others = alternatives.filter(([text]) => text !== token);
  item.textContent =
    `${JSON.stringify(token)} p=${probability(logprob)}` +
    (others.length === 0
      ? ''
      : ` · next best ${others.map(([text, value]) => `${JSON.stringify(text)} p=${probability(value)}`).join(', ')}`);
  return item;
}

/** The Complete tab's behaviour; create one per page. */
export class CompletePanel {
  #running: AbortController | undefined;

  constructor(
    private readonly elements: CompleteElements,
    private readonly completions: Completions,
    private readonly host: CompleteHost,
  ) {}

  /** Stops the completion being generated (it ends where it is, its stop reason `aborted`). */
  stop(): void {
    this.#running?.abort();
  }

  /** Streams a completion of the prompt box into the output, with a live token count, then its figures and token ids. */
  async run(): Promise<void> {
    let prompt: string | number[];
    try {
      prompt = this.elements.promptIds.checked ? parseTokenIds(this.elements.prompt.value) : this.elements.prompt.value;
    } catch (error) {
      this.host.showError(error);
      return;
    }
    const options = this.host.requestOptions();
    const controller = new AbortController();
    this.#running = controller;
    this.host.clearError();
    this.host.setBusy(true);
    this.elements.output.textContent = '';
    this.elements.stats.textContent = 'waiting for the first token…';
    this.elements.stats.dataset.state = 'running';
    this.elements.tokenIds.textContent = '';
    this.elements.tokenList.replaceChildren();
    this.elements.tokenList.hidden = !this.elements.showProbabilities.checked;
    const requested = performance.now();
    let firstToken: number | undefined;
    let usage: OpenAIUsage | null | undefined;
    let finish = 'stop';
    let tokens: readonly number[] = [];
    let count = 0;
    try {
      const stream = await this.completions.create(
        {
          ...requestFields(this.host.model(), options),
          prompt,
          ...(options.alternatives === undefined ? {} : { logprobs: options.alternatives }),
        },
        { signal: controller.signal },
      );
      for await (const chunk of stream) {
        usage = chunk.usage ?? usage;
        const choice = chunk.choices[0];
        if (choice === undefined) continue;
        firstToken ??= performance.now();
        this.elements.output.textContent += choice.text;
        const logprobs = choice.logprobs;
        for (let index = 0; index < (logprobs?.tokens.length ?? 0); index++)
          this.elements.tokenList.append(tokenItem(logprobs!, index));
        if (choice.finish_reason !== null) finish = choice.finish_reason;
        if (choice.tokens !== undefined) tokens = choice.tokens;
        else if (choice.finish_reason === null) count += 1;
        this.elements.stats.textContent = `${count} tokens · ${((performance.now() - requested) / 1000).toFixed(1)} s`;
      }
      const stats = streamStats({ requested, firstToken, ended: performance.now() }, usage);
      this.elements.stats.textContent = formatStats(stats, controller.signal.aborted ? 'aborted' : finish);
      this.elements.stats.dataset.state = 'done';
      this.elements.tokenIds.textContent = tokens.join(', ');
      this.elements.tokenList.querySelectorAll('li').forEach((item, index) => {
        if (tokens[index] !== undefined) item.dataset.token = String(tokens[index]);
      });
    } catch (error) {
      this.elements.stats.textContent = '';
      this.elements.stats.dataset.state = 'failed';
      this.host.showError(error);
    } finally {
      if (this.#running === controller) this.#running = undefined;
      this.host.setBusy(false);
    }
  }
}
