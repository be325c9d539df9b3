import { describe, expect, it } from 'vitest';
import { SpecialTokenSplitter, TokenAttribute } from './vocabulary.js';

const token = (id: number, text: string, attribute: number = TokenAttribute.control) => ({ id, text, attribute });

describe('SpecialTokenSplitter', () => {
  it('cuts at the longest tokens first and keeps the text between them', () => {
    const splitter = new SpecialTokenSplitter([token(1, '<a><b>'), token(2, '<a>'), token(3, '<b>')]);
    expect(splitter.split('x<a><b><a>y<b>')).toEqual([
      { text: 'x' },
      { token: 1 },
      { token: 2 },
      { text: 'y' },
      { token: 3 },
    ]);
    expect(splitter.split('<a>')).toEqual([{ token: 2 }]);
    expect(splitter.split('plain <c> text')).toEqual([{ text: 'plain <c> text' }]);
    expect(splitter.split('')).toEqual([]);
  });

  it('swallows ASCII white space on the side a token strips', () => {
    const splitter = new SpecialTokenSplitter([
      token(1, '<r>', TokenAttribute.control | TokenAttribute.rightStrip),
      token(2, '<l>', TokenAttribute.control | TokenAttribute.leftStrip),
    ]);
    expect(splitter.split('a <r> \n b')).toEqual([{ text: 'a ' }, { token: 1 }, { text: 'b' }]);
    expect(splitter.split('a \t<l> b')).toEqual([{ text: 'a' }, { token: 2 }, { text: ' b' }]);
    expect(splitter.split('<r>  ')).toEqual([{ token: 1 }]);
  });

  it('handles thousands of tokens sharing a prefix', () => {
    const specials = Array.from({ length: 6000 }, (_, index) => token(index, `<unused${index}>`));
    specials.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    const splitter = new SpecialTokenSplitter(specials);
    const text = `${'<p>lorem ipsum</p> '.repeat(5000)}<unused42>`;
    const fragments = splitter.split(text);
    expect(fragments.at(-1)).toEqual({ token: 42 });
    expect(fragments).toHaveLength(2);
  });
});
