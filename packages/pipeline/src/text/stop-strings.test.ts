import { describe, expect, it } from 'vitest';
import { StopStringMatcher } from './stop-strings.js';

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
