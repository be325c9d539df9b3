import { StrataError } from '@strata/core';
import type { LoadProgress, OpenAIUsage } from '@strata/pipeline';

/** Bytes in binary units: `481.3 KiB`, `4.07 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 2 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Loading progress as a fraction in [0, 1] and a line of text. */
export function describeProgress(progress: LoadProgress): { fraction: number; text: string } {
  const fraction = progress.totalBytes === 0 ? 1 : Math.min(1, progress.loadedBytes / progress.totalBytes);
  const text = `${Math.floor(fraction * 100)}% · ${formatBytes(progress.loadedBytes)} / ${formatBytes(progress.totalBytes)} · ${progress.loadedTensors}/${progress.totalTensors} tensors`;
  return { fraction, text };
}

/**
 * Token ids typed by the user: integers separated by commas, spaces or newlines, optionally inside `[ ]` (a JSON list
 * pastes as is). Throws `INVALID_ARGUMENT`, naming the first bad entry.
 */
export function parseTokenIds(text: string): number[] {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  const parts = body.split(/[\s,]+/).filter((part) => part !== '');
  if (parts.length === 0)
    throw new StrataError('INVALID_ARGUMENT', 'The prompt has no token ids: type a few, like 1, 15043, 29892.');
  return parts.map((part) => {
    if (!/^\d+$/.test(part)) {
      throw new StrataError('INVALID_ARGUMENT', `'${part}' is not a token id: token ids are non-negative integers.`);
    }
    return Number(part);
  });
}

/** The figures of one streamed request, as its client measures them. */
export interface StreamStats {
  /** Milliseconds from the request to the first generated token. */
  readonly timeToFirstTokenMs: number;
  /** Tokens of the prompt. */
  readonly promptTokens: number;
  /** Leading prompt tokens whose KV cache was reused. */
  readonly cachedPromptTokens: number;
  /** Tokens generated. */
  readonly generatedTokens: number;
  /** Prompt tokens computed (not reused) per second until the first token. */
  readonly prefillTokensPerSecond: number;
  /** Tokens generated after the first, per second. */
  readonly decodeTokensPerSecond: number;
}

/**
 * A stream's figures from OpenAI's `usage` (its last chunk, with `stream_options.include_usage`) and the times
 * (`performance.now()`) when it was requested, when its first token came and when it ended.
 */
export function streamStats(
  times: { readonly requested: number; readonly firstToken: number | undefined; readonly ended: number },
  usage: OpenAIUsage | null | undefined,
): StreamStats {
  const promptTokens = usage?.prompt_tokens ?? 0;
  const cachedPromptTokens = usage?.prompt_tokens_details.cached_tokens ?? 0;
  const generatedTokens = usage?.completion_tokens ?? 0;
  const firstToken = times.firstToken ?? times.ended;
  const perSecond = (count: number, milliseconds: number) => (milliseconds > 0 ? (count * 1000) / milliseconds : 0);
  return {
    timeToFirstTokenMs: firstToken - times.requested,
    promptTokens,
    cachedPromptTokens,
    generatedTokens,
    prefillTokensPerSecond: perSecond(promptTokens - cachedPromptTokens, firstToken - times.requested),
    decodeTokensPerSecond: perSecond(Math.max(0, generatedTokens - 1), times.ended - firstToken),
  };
}

/** One line of generation figures: time to first token, prefill and decode speed, tokens and why it stopped. */
export function formatStats(stats: StreamStats, finishReason: string): string {
  const cached = stats.cachedPromptTokens > 0 ? ` (${stats.cachedPromptTokens} cached)` : '';
  return [
    `first token ${stats.timeToFirstTokenMs.toFixed(0)} ms`,
    `prompt ${stats.promptTokens} tokens${cached} at ${stats.prefillTokensPerSecond.toFixed(1)} tok/s`,
    `${stats.generatedTokens} generated at ${stats.decodeTokensPerSecond.toFixed(1)} tok/s`,
    `stop: ${finishReason}`,
  ].join(' · ');
}
