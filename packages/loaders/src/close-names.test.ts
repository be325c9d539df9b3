import { describe, expect, it } from 'vitest';
import { closeNames } from './close-names.js';

describe('closeNames', () => {
  const names = ['blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.1.attn_q.weight', 'output_norm.weight', 'x'];

  it('orders by edit distance, then by name, and keeps `count`', () => {
    expect(closeNames('blk.0.attn_q.weigth', names)).toEqual([
      'blk.0.attn_q.weight',
      'blk.0.attn_k.weight',
      'blk.1.attn_q.weight',
    ]);
    expect(closeNames('blk.0.attn_v.weight', names, 2)).toEqual(['blk.0.attn_k.weight', 'blk.0.attn_q.weight']);
  });

  it('skips names whose length differs by more than max(8, the name length)', () => {
    expect(closeNames('x', ['y', 'a much longer tensor name'])).toEqual(['y']);
    expect(closeNames('anything', [])).toEqual([]);
  });
});
