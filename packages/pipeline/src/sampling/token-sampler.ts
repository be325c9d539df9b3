import type { Backend, SamplingParameters, Tensor } from '@strata/core';
import { SeededRandom } from './random.js';
import type { NormalizedSamplingOptions } from './sampling-options.js';

/** How the device picks the next token: argmax of the logits, or {@link Backend.sampleToken} with these parameters. */
export type TokenChoice =
  | { readonly kind: 'greedy' }
  | { readonly kind: 'sample'; readonly parameters: SamplingParameters };

const EMPTY_INT = new Int32Array(0);

/**
 * Turns normalized sampling options and the token history into the per-step {@link TokenChoice}: it counts the tokens
 * of the penalty window and draws the step's random number from its seeded generator. The choice itself runs on the
 * device (see {@link chooseToken}); only the chosen id is read back.
 */
export class TokenSampler {
  private readonly random: SeededRandom;

  constructor(readonly options: NormalizedSamplingOptions) {
    this.random = new SeededRandom(options.seed);
  }

  /** The choice for the next step, given every token of the sequence so far (prompt and generated). */
  next(history: ArrayLike<number>): TokenChoice {
    const options = this.options;
    if (options.isPlainGreedy) return { kind: 'greedy' };
    const { penaltyTokens, penaltyCounts } = countPenaltyWindow(history, options.penaltyWindow);
    return {
      kind: 'sample',
      parameters: {
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        minP: options.minP,
        // Greedy with penalties or bias still consumes no randomness, so seeds stay comparable across option sets.
        random: options.temperature === 0 ? 0 : this.random.next(),
        penaltyTokens,
        penaltyCounts,
        repetitionPenalty: options.repetitionPenalty,
        presencePenalty: options.presencePenalty,
        frequencyPenalty: options.frequencyPenalty,
        logitBiasTokens: options.logitBiasTokens,
        logitBiasValues: options.logitBiasValues,
      },
    };
  }
}

/** Distinct tokens of the last `window` entries of `history` (−1: all of it) and how often each occurs. */
export function countPenaltyWindow(
  history: ArrayLike<number>,
  window: number,
): { penaltyTokens: Int32Array; penaltyCounts: Int32Array } {
  if (window === 0 || history.length === 0) return { penaltyTokens: EMPTY_INT, penaltyCounts: EMPTY_INT };
  const start = window < 0 ? 0 : Math.max(0, history.length - window);
  const counts = new Map<number, number>();
  for (let index = start; index < history.length; index++) {
    const token = history[index]!;
    counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  return {
    penaltyTokens: Int32Array.from(counts.keys()),
    penaltyCounts: Int32Array.from(counts.values()),
  };
}

/** Records the token choice on the last row of `logits` `[rows, vocabulary]`: an i32 `[1]` tensor on the device. */
export function chooseToken(backend: Backend, logits: Tensor, choice: TokenChoice): Tensor {
  if (choice.kind === 'sample') return backend.sampleToken(logits, choice.parameters);
  const rows = logits.shape[0] ?? 1;
  if (rows === 1) return backend.argmax(logits);
  const last = backend.sliceRows(logits, rows - 1, 1);
  const token = backend.argmax(last);
  backend.dispose(last);
  return token;
}
