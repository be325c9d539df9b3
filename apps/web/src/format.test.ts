import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { describeProgress, formatBytes, formatStats, parseTokenIds, streamStats } from './format.js';

describe('format helpers', () => {
  it('writes bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(492_864)).toBe('481.3 KiB');
    expect(formatBytes(4.07 * 1024 ** 3)).toBe('4.07 GiB');
  });

  it('describes loading progress, an empty model included', () => {
    const half = describeProgress({
      loadedBytes: 512,
      totalBytes: 1024,
      loadedTensors: 1,
      totalTensors: 2,
      done: false,
    });
    expect(half.fraction).toBe(0.5);
    expect(half.text).toBe('50% · 512 B / 1.00 KiB · 1/2 tensors');
    expect(
      describeProgress({ loadedBytes: 0, totalBytes: 0, loadedTensors: 0, totalTensors: 0, done: true }).fraction,
    ).toBe(1);
  });

  it('parses token ids separated by commas, spaces or newlines, or as a JSON list', () => {
    expect(parseTokenIds('1, 15043,29892')).toEqual([1, 15043, 29892]);
    expect(parseTokenIds(' [273, 72,\n288] ')).toEqual([273, 72, 288]);
    expect(parseTokenIds('5 6\t7')).toEqual([5, 6, 7]);
  });

  it('rejects what is not a token id, naming it', () => {
    for (const [text, pattern] of [
      ['1, 2.5', /'2\.5' is not a token id/],
      ['1, -3', /'-3' is not a token id/],
      ['  ', /no token ids/],
    ] as const) {
      let thrown: unknown;
      try {
        parseTokenIds(text);
      } catch (error) {
        thrown = error;
      }
      expect(StrataError.isInstance(thrown, 'INVALID_ARGUMENT')).toBe(true);
      expect((thrown as Error).message).toMatch(pattern);
    }
  });

  it('writes the generation figures on one line', () => {
    const line = formatStats(
      {
        promptTokens: 24,
        cachedPromptTokens: 4,
        generatedTokens: 12,
        timeToFirstTokenMs: 239.4,
        prefillTokensPerSecond: 100.26,
        decodeTokensPerSecond: 6.61,
      },
      'max-tokens',
    );
    expect(line).toBe(
      'first token 239 ms · prompt 24 tokens (4 cached) at 100.3 tok/s · 12 generated at 6.6 tok/s · stop: max-tokens',
    );
  });

  it('measures a stream from its usage and the arrival of its first and last tokens', () => {
    const usage = {
      prompt_tokens: 24,
      completion_tokens: 11,
      total_tokens: 35,
      prompt_tokens_details: { cached_tokens: 4 },
    };
    const stats = streamStats({ requested: 1000, firstToken: 1200, ended: 3200 }, usage);
    // 20 prompt tokens computed in the 200 ms before the first token; 10 more tokens in the 2 s after it.
    expect(stats).toEqual({
      timeToFirstTokenMs: 200,
      promptTokens: 24,
      cachedPromptTokens: 4,
      generatedTokens: 11,
      prefillTokensPerSecond: 100,
      decodeTokensPerSecond: 5,
    });
    // No token (an immediate stop) and no usage: zeros, never a division by zero.
    expect(streamStats({ requested: 5, firstToken: undefined, ended: 5 }, undefined)).toEqual({
      timeToFirstTokenMs: 0,
      promptTokens: 0,
      cachedPromptTokens: 0,
      generatedTokens: 0,
      prefillTokensPerSecond: 0,
      decodeTokensPerSecond: 0,
    });
  });
});
