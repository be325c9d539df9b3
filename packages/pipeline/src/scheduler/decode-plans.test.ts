import { createScopedBackend, type PagedBatchLayout } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { DecodePlans } from './decode-plans.js';

/** One group's layout: a decode row per sequence, each holding `pages` pages of 16 positions. */
const layoutOf = (...pages: number[]): PagedBatchLayout => ({
  pageSize: 16,
  sequences: pages.map((count) => ({
    firstPosition: count * 16 - 1,
    rows: 1,
    pages: Array.from({ length: count }, (_, page) => page),
  })),
});

describe('DecodePlans', () => {
  it('sizes page tables by the longest one, rounded up to a power of two of keys (64 at least, the context at most)', () => {
    const plans = new DecodePlans(createScopedBackend(createCpuBackend()), [256], () => {
      throw new Error('not run');
    });
    expect(plans.widthOf(layoutOf(1, 2), 0)).toBe(4); // 32 keys → 64
    expect(plans.widthOf(layoutOf(1, 3), 0)).toBe(4); // 48 keys → 64
    expect(plans.widthOf(layoutOf(16), 0)).toBe(16); // 256 keys
    expect(plans.widthOf(layoutOf(2, 17), 0)).toBe(32); // 272 keys → 512
    expect(plans.widthOf(layoutOf(200), 0)).toBe(256); // 3,200 keys → 4,096, the context
    expect(plans.fits([layoutOf(256)])).toBe(true);
    expect(plans.fits([layoutOf(257)])).toBe(false);
  });

  it('captures a plan per row count and width, replays it, and hands the body batches of that width', () => {
    const backend = createScopedBackend(createCpuBackend());
    const capture = vi.spyOn(backend, 'captureStep');
    const widths: number[] = [];
    const plans = new DecodePlans(backend, [64], (ids, batches) => {
      widths.push(batches[0]!.pagesPerSequence);
      return backend.upload(new Float32Array(ids.shape[0]!), [ids.shape[0]!, 1]);
    });
    const step = (...pages: number[]) => backend.dispose(plans.run(Int32Array.from(pages), [layoutOf(...pages)]));
    step(1, 2);
    step(3, 4); // the same plan: 64 keys
    step(3, 16); // 256 keys: the plan of 16 pages
    step(17, 2); // 272 keys: the plan of 32 pages
    step(5); // one row, 80 keys: 8 pages
    expect(capture.mock.calls.map(([rows, , shapes]) => [rows, shapes?.[2]])).toEqual([
      [2, [2, 4]],
      [2, [2, 16]],
      [2, [2, 32]],
      [1, [1, 8]],
    ]);
    // The CPU runs the body at every step, over batches of the plan's width.
    expect(widths).toEqual([4, 4, 16, 32, 8]);
    plans.dispose();
  });
});
