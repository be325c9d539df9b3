import type { GenerationResult } from '../generation/types.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { CheckedCompletionRequest } from './check-request.js';
import { appendCompletionLogprobs, finishReasonOf, runChoices, usageOf } from './choice-runner.js';
import type { Completion, CompletionLogprobs } from './openai-types.js';

const seconds = () => Math.floor(Date.now() / 1000);
const randomId = () => globalThis.crypto.randomUUID().replaceAll('-', '');

/**
 * Answers a checked `completions.create` request on `scheduler`: OpenAI's text completion, or with `stream` an async
 * iterable of its chunks (`echo`, legacy logprobs, `n` choices, `include_usage`, `return_tokens`). Submission errors are
 * thrown here; `signal` aborts every choice.
 */
export async function createTextCompletion(
  scheduler: Scheduler,
  request: CheckedCompletionRequest,
  signal: AbortSignal | undefined,
): Promise<Completion | AsyncIterable<Completion>> {
  const { tokenizer } = scheduler;
  const ids =
    typeof request.prompt === 'string'
      ? tokenizer.encode(request.prompt, { addSpecial: true, parseSpecial: true })
      : request.prompt.slice();
  const run = runChoices(scheduler, ids, request, signal);
  const tokenText = (token: number) => tokenizer.decode([token]);
  const echo = !request.echo
    ? ''
    : typeof request.prompt === 'string'
      ? request.prompt
      : tokenizer.decode(request.prompt.slice(), { skipSpecial: true });
  const base = {
    id: `cmpl-${randomId()}`,
    object: 'text_completion' as const,
    created: seconds(),
    model: request.model,
  };
  const withLogprobs = request.topLogprobs >= 0;
  const emptyLogprobs = (): CompletionLogprobs => ({
    tokens: [],
    token_logprobs: [],
    top_logprobs: [],
    text_offset: [],
  });
  if (request.stream) {
    const includeUsage = request.includeUsage;
    return (async function* () {
      const results: GenerationResult[] = [];
      const offsets: number[] = Array(request.n).fill(echo.length);
      const usage = includeUsage ? { usage: null } : {};
      if (echo.length > 0) {
        for (let index = 0; index < request.n; index++) {
          yield { ...base, choices: [{ index, text: echo, logprobs: null, finish_reason: null }], ...usage };
        }
      }
      for await (const event of run.events) {
        const { index } = event;
        if ('delta' in event) {
          const logprobs = emptyLogprobs();
          appendCompletionLogprobs(logprobs, event.delta, offsets[index]!, tokenText);
          offsets[index]! += event.delta.text.length;
          if (event.delta.text.length === 0 && logprobs.tokens.length === 0) continue;
          yield {
            ...base,
            choices: [{ index, text: event.delta.text, logprobs: withLogprobs ? logprobs : null, finish_reason: null }],
            ...usage,
          };
        } else {
          results[index] = event.result;
          const finish = finishReasonOf(event.result.finishReason);
          const tokens = request.returnTokens ? { tokens: [...event.result.tokens] } : {};
          yield { ...base, choices: [{ index, text: '', logprobs: null, finish_reason: finish, ...tokens }], ...usage };
        }
      }
      if (includeUsage) yield { ...base, choices: [], usage: usageOf(run.promptTokens, results) };
    })();
  }
  const texts: string[] = Array(request.n).fill(echo);
  const logprobs = Array.from({ length: request.n }, emptyLogprobs);
  const results: GenerationResult[] = [];
  for await (const event of run.events) {
    if ('delta' in event) {
      appendCompletionLogprobs(logprobs[event.index]!, event.delta, texts[event.index]!.length, tokenText);
      texts[event.index] += event.delta.text;
    } else results[event.index] = event.result;
  }
  return {
    ...base,
    choices: results.map((result, index) => ({
      index,
      text: texts[index]!,
      logprobs: withLogprobs ? logprobs[index]! : null,
      finish_reason: finishReasonOf(result.finishReason),
      ...(request.returnTokens ? { tokens: [...result.tokens] } : {}),
    })),
    usage: usageOf(run.promptTokens, results),
  };
}
