import { describe, expect, it } from 'vitest';
import {
  budgetTokensOf,
  bytesPerPosition,
  defaultGroupPages,
  groupLayersByWindow,
  type PageBudgetShape,
  splitPageBudget,
  windowedPagesPerSequence,
} from './page-groups.js';

describe('page groups', () => {
  it('groups layers by window: full attention first, windows ascending; a window as long as the context is none', () => {
    const layers = [{ window: 8 }, {}, { window: 4 }, { window: 8 }, { window: 64 }, { window: undefined }];
    const grouping = groupLayersByWindow(layers, 64);
    expect(grouping.windows).toEqual([undefined, 4, 8]);
    grouping.groupOfLayer.forEach((group, layer) => {
      const window = layers[layer]!.window;
      expect(grouping.windows[group]).toBe(window === undefined || window >= 64 ? undefined : window);
    });
    expect(groupLayersByWindow([{ window: 8 }, { window: 8 }], 64)).toEqual({ windows: [8], groupOfLayer: [0, 0] });
  });

  // gemma3-like: five windowed layers for each full one, so a windowed page takes five times the bytes.
  const shape: PageBudgetShape = {
    groups: [
      { window: undefined, bytesPerPage: 1024 },
      { window: 32, bytesPerPage: 5 * 1024 },
    ],
    parallel: 3,
    contextLength: 1024,
    chunkSize: 64,
    pageSize: 16,
  };
  const perSequence = windowedPagesPerSequence(32, shape);

  it('a windowed group gets what its running sequences can use; the full group gets every byte left', () => {
    expect(perSequence).toBe(Math.ceil((32 + 64) / 16) + 1);
    for (const equal of [1, 2, 5, 12, 13, 40, 1000]) {
      const budget = equal * bytesPerPosition(shape.groups) + 100;
      const [full, windowed] = splitPageBudget(budget, shape) as [number, number];
      expect(windowed).toBe(Math.min(equal, (shape.parallel + 1) * perSequence));
      expect(full).toBeGreaterThanOrEqual(equal);
      const used = full * 1024 + windowed * 5 * 1024;
      expect(used).toBeLessThanOrEqual(budget);
      expect(budget - used).toBeLessThan(1024); // not one more full-attention page fits
    }
    expect(splitPageBudget(bytesPerPosition(shape.groups) - 1, shape)).toEqual([0, 0]);
  });

  it('without a full-attention group, each windowed group takes an equal split', () => {
    const windowed = { ...shape, groups: [{ window: 32, bytesPerPage: 2048 }] };
    expect(splitPageBudget(100 * 2048, windowed)).toEqual([100]);
  });

  it('a lone sequence fits any length once a windowed group holds a running sequence’s pages', () => {
    const defaults = defaultGroupPages(shape);
    expect(defaults).toEqual([3 * (1024 / 16), 4 * perSequence]);
    expect(budgetTokensOf(defaults, shape)).toBe(defaults[0]! * 16);
    expect(budgetTokensOf([100, perSequence - 1], shape)).toBe((perSequence - 1) * 16);
  });
});
