import type { PageGroup } from './step-executor.js';

/** Which page group each layer belongs to, and each group's window (see {@link groupLayersByWindow}). */
export interface LayerGrouping {
  /** The window of each group: the full-attention group first (when there is one), then the windows ascending. */
  readonly windows: readonly (number | undefined)[];
  /** The group of each layer, in the order of the layers. */
  readonly groupOfLayer: readonly number[];
}

/**
 * Groups layers by their sliding window: every full-attention layer in one group, the layers of each distinct window
 * in a group of their own. A window of at least `contextLength` never leaves a position behind, so such a layer joins
 * the full-attention group.
 */
export function groupLayersByWindow(
  layers: readonly { readonly window?: number | undefined }[],
  contextLength: number,
): LayerGrouping {
  const windowOf = (layer: { readonly window?: number | undefined }) =>
    layer.window === undefined || layer.window >= contextLength ? undefined : layer.window;
  const windows = layers.map(windowOf);
  const sliding = [...new Set(windows.filter((window) => window !== undefined))].sort((a, b) => a - b);
  const distinct = windows.includes(undefined) ? [undefined, ...sliding] : sliding;
  return { windows: distinct, groupOfLayer: windows.map((window) => distinct.indexOf(window)) };
}

/** What a KV budget is split by (see {@link splitPageBudget}). */
export interface PageBudgetShape {
  /** The executor's page groups. */
  readonly groups: readonly PageGroup[];
  /** Sequences running at once. */
  readonly parallel: number;
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Most ids one row may carry. */
  readonly chunkSize: number;
  /** Tokens per page. */
  readonly pageSize: number;
}

/**
 * Pages of a windowed group one running sequence holds at most: before a step from `next` (the position it computes
 * next) to at most `next + chunkSize`, its entries from ⌊(next − window + 1) / pageSize⌋ to ⌈(next + chunkSize) /
 * pageSize⌉, which is at most ⌈(window + chunkSize) / pageSize⌉ + 1; never more than a whole context.
 */
export function windowedPagesPerSequence(window: number, shape: PageBudgetShape): number {
  const { chunkSize, pageSize, contextLength } = shape;
  return Math.min(Math.ceil(contextLength / pageSize), Math.ceil((window + chunkSize) / pageSize) + 1);
}

/**
 * Pages a windowed group is given: what `parallel` running sequences can hold at once, plus one sequence's worth for
 * the windowed pages of cached prompt blocks (a reused prefix needs those of its last `window` positions).
 */
function windowedShare(window: number, shape: PageBudgetShape): number {
  return (shape.parallel + 1) * windowedPagesPerSequence(window, shape);
}

/** Bytes of one page in every group together (`pageSize` positions of every layer). */
export function bytesPerPosition(groups: readonly PageGroup[]): number {
  return groups.reduce((sum, group) => sum + group.bytesPerPage, 0);
}

/**
 * Splits `kvCacheBytes` into pages of each group. Let T be the pages a budget of one pool for every layer would hold
 * (`kvCacheBytes / bytesPerPosition`). A windowed group gets `min(T, (parallel + 1) · perSequence)` pages
 * ({@link windowedPagesPerSequence}): never more than its running sequences can use (plus the cached tails of prompts),
 * never more than an equal split would give it. The full-attention group gets every byte left, so it holds at least T
 * pages: the budget serves at least the context it served before windowed pages were given back. A model without a
 * full-attention group gives each windowed group T pages (nothing else could use them; the prefix cache keeps more).
 * Returns 0 pages everywhere when T is 0 (the caller refuses such a budget).
 */
export function splitPageBudget(kvCacheBytes: number, shape: PageBudgetShape): number[] {
  const { groups } = shape;
  const equal = Math.floor(kvCacheBytes / bytesPerPosition(groups));
  const full = groups.findIndex((group) => group.window === undefined);
  if (full < 0 || equal < 1) return groups.map(() => Math.max(0, equal));
  const pages = groups.map((group) =>
    group.window === undefined ? 0 : Math.min(equal, windowedShare(group.window, shape)),
  );
  const windowedBytes = groups.reduce((sum, group, index) => sum + pages[index]! * group.bytesPerPage, 0);
  pages[full] = Math.floor((kvCacheBytes - windowedBytes) / groups[full]!.bytesPerPage);
  return pages;
}

/**
 * Pages of each group when no budget is given: room for `parallel` full contexts in the full-attention group, and
 * what `parallel` running sequences can use (plus the cached tails of prompts) in each windowed group.
 */
export function defaultGroupPages(shape: PageBudgetShape): number[] {
  const context = shape.parallel * Math.ceil(shape.contextLength / shape.pageSize);
  return shape.groups.map((group) =>
    group.window === undefined ? context : Math.min(context, windowedShare(group.window, shape)),
  );
}

/**
 * Tokens one sequence alone can always hold with `pages[g]` pages per group: a full-attention group holds
 * `pages · pageSize`; a windowed group holds any length once it has the pages a running sequence can hold at most,
 * `pages · pageSize` otherwise. The least over the groups.
 */
export function budgetTokensOf(pages: readonly number[], shape: PageBudgetShape): number {
  return Math.min(
    ...shape.groups.map((group, index) => {
      const count = pages[index]!;
      if (group.window !== undefined && count >= windowedPagesPerSequence(group.window, shape)) return Infinity;
      return count * shape.pageSize;
    }),
  );
}
