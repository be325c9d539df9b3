import type { GenerationDelta } from './types.js';
import type { TokenLogprob } from './types.js';

/** Log-probability of `token` and the `top` most likely tokens under softmax(logits), computed on the host. */
export function logprobsOf(
  logits: Float32Array,
  token: number,
  top: number,
): { logprob: number; topLogprobs: TokenLogprob[] } {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of logits) if (value > max) max = value;
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const logSum = max + Math.log(sum);
  const topLogprobs: TokenLogprob[] = [];
  if (top > 0) {
    // Partial selection: keep the best `top` indices in a small sorted list.
    const best: number[] = [];
    for (let index = 0; index < logits.length; index++) {
      const value = logits[index]!;
      if (best.length === top && value <= logits[best[best.length - 1]!]!) continue;
      let at = best.length;
      while (at > 0 && logits[best[at - 1]!]! < value) at--;
      best.splice(at, 0, index);
      if (best.length > top) best.pop();
    }
    for (const index of best) topLogprobs.push({ token: index, logprob: logits[index]! - logSum });
  }
  return { logprob: (logits[token] ?? Number.NaN) - logSum, topLogprobs };
}

/**
 * The delta of one generated token: its text, and from its step's logits (when read back) the log-probabilities
 * (`topLogprobs` ≥ 0: the chosen token's; > 0: also the top alternatives) and the raw logits when asked.
 */
export function deltaOf(
  token: number,
  text: string,
  logits: Float32Array | undefined,
  topLogprobs: number,
  returnLogits: boolean,
): GenerationDelta {
  if (logits === undefined) return { token, text };
  const probabilities = topLogprobs >= 0 ? logprobsOf(logits, token, topLogprobs) : undefined;
  return {
    token,
    text,
    ...(probabilities === undefined
      ? {}
      : { logprob: probabilities.logprob, ...(topLogprobs > 0 ? { topLogprobs: probabilities.topLogprobs } : {}) }),
    ...(returnLogits ? { logits } : {}),
  };
}
