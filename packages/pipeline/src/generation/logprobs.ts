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
