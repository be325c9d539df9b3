import { splitReasoning } from '@strata/structured';
import { describe, expect, it } from 'vitest';
import { createReasoningStream, promptOpensReasoning, type ReasoningDelta } from './reasoning-stream.js';

function streamed(pieces: readonly string[], startsInReasoning = false): { reasoning: string; content: string } {
  const stream = createReasoningStream(startsInReasoning);
  const deltas = [...pieces.map((piece) => stream.push(piece)), stream.finish()].filter(
    (delta): delta is ReasoningDelta => delta !== undefined,
  );
  return {
    reasoning: deltas.map((delta) => delta.reasoning_content ?? '').join(''),
    content: deltas.map((delta) => delta.content ?? '').join(''),
  };
}

describe('reasoning split from streamed content', () => {
  it('holds back a marker being typed, then streams reasoning and content as the whole-text split gives them', () => {
    const text = '<think>first, plan</think>\n\nThe answer is 4.';
    const pieces = ['<th', 'ink>first,', ' plan</thi', 'nk>\n\nThe ', 'answer is 4.'];
    expect(streamed(pieces)).toEqual({ reasoning: 'first, plan', content: 'The answer is 4.' });
    const whole = splitReasoning(text);
    expect(streamed(pieces)).toEqual({ reasoning: whole.reasoning, content: whole.content });
  });

  it('passes plain content through unchanged, even when it starts like a marker', () => {
    expect(streamed(['<t', 'able> is ', 'HTML'])).toEqual({ reasoning: '', content: '<table> is HTML' });
    expect(streamed(['Hello', ' world'])).toEqual({ reasoning: '', content: 'Hello world' });
  });

  it('treats text as reasoning until the closing marker when the prompt opened it', () => {
    expect(promptOpensReasoning('<|Assistant|><think>\n')).toBe(true);
    expect(promptOpensReasoning('assistant:')).toBe(false);
    expect(streamed(['weigh ', 'options</think>', 'Go left.'], true)).toEqual({
      reasoning: 'weigh options',
      content: 'Go left.',
    });
  });
});
