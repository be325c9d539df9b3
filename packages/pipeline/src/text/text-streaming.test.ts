import { describe, expect, it } from 'vitest';
import { createByteTokenizer } from '../testing/toy-model.js';
import { IncrementalDecoder } from './incremental-decoder.js';
import { StopStringMatcher } from './stop-strings.js';

describe('IncrementalDecoder', () => {
  it('never emits a broken UTF-8 character and joins to the full text', () => {
    const text = 'héllo wörld 🦙 — ok';
    const decoder = new IncrementalDecoder(createByteTokenizer());
    const deltas = Array.from(new TextEncoder().encode(text), (byte) => decoder.push(byte));
    deltas.push(decoder.flush());
    expect(deltas.join('')).toBe(text);
    for (const delta of deltas) expect(delta).not.toContain('\uFFFD');
    // The four bytes of the llama emoji yield nothing until the last one.
    const emojiStart = new TextEncoder().encode('héllo wörld ').length;
    expect(deltas.slice(emojiStart, emojiStart + 3)).toEqual(['', '', '']);
    expect(deltas[emojiStart + 3]).toBe('🦙');
  });

  it('skips special tokens and releases an incomplete character at the end', () => {
    const decoder = new IncrementalDecoder(createByteTokenizer());
    expect(decoder.push(256)).toBe('');
    expect(decoder.push(65)).toBe('A');
    expect(decoder.push(0xf0)).toBe('');
    expect(decoder.flush()).toBe('\uFFFD');
  });
});

describe('StopStringMatcher', () => {
  it('finds a stop string spanning deltas and never shows it', () => {
    const matcher = new StopStringMatcher(['</end>']);
    const shown: string[] = [];
    let stop: string | undefined;
    for (const piece of ['Hello <', '/e', 'nd> after']) {
      const match = matcher.push(piece);
      shown.push(match.text);
      if (match.stop !== undefined) {
        stop = match.stop;
        break;
      }
    }
    expect(shown.join('')).toBe('Hello ');
    expect(shown).toEqual(['Hello ', '', '']);
    expect(stop).toBe('</end>');
  });

  it('releases held-back text once it cannot start a stop string, and at the end', () => {
    const matcher = new StopStringMatcher(['STOP', 'XY']);
    expect(matcher.push('aS').text).toBe('a');
    expect(matcher.push('T').text).toBe('');
    expect(matcher.push('x').text).toBe('STx');
    expect(matcher.push('ST').text).toBe('');
    expect(matcher.flush()).toBe('ST');
    expect(matcher.push('abXY').stop).toBe('XY');
  });

  it('picks the earliest stop string and passes text through when there are none', () => {
    const matcher = new StopStringMatcher(['bc', 'ab']);
    expect(matcher.push('xabc')).toEqual({ text: 'x', stop: 'ab' });
    expect(new StopStringMatcher([]).push('anything')).toEqual({ text: 'anything' });
  });
});
