import type { PageAllocator } from './page-allocator.js';
import type { PrefixCache } from './prefix-cache.js';
import type { ScheduledSequence } from './scheduled-sequence.js';
import type { StepExecutor } from './step-executor.js';

/** What publishing draws on. */
export interface PublishTargets {
  /** The cache the blocks go to. */
  readonly cache: PrefixCache;
  /** Where a block's page comes from, per page group (publishing never evicts or preempts: no free page, no block). */
  readonly allocators: readonly PageAllocator[];
  /** Copies a sequence's page into the block's page, or (sharing pages) hands the pages to the block as they are. */
  readonly executor: StepExecutor;
}

/**
 * Publishes the full prompt pages a step wrote (positions `[before, end)`) as prefix-cache blocks, in order, each keyed
 * by the block before it. Prefill chunks end on page boundaries, so each of these pages was written within this one
 * step and is intact even in a sliding-window ring cache; and it is still held in every group (pages fall out of a
 * window only after publishing). A block already cached by another sequence is reused as the parent of the next one.
 */
export function publishPromptPages(
  sequence: ScheduledSequence,
  before: number,
  end: number,
  targets: PublishTargets,
): void {
  const { pageSize } = targets.cache;
  const promptPages = Math.floor(sequence.settings.promptIds.length / pageSize);
  const limit = Math.min(promptPages, Math.floor(end / pageSize));
  for (let index = Math.ceil(before / pageSize); index < limit; index++) {
    if (sequence.blocks.length !== index) return; // an earlier block is missing: later ones cannot be keyed
    if (targets.executor.sharesPages) shareBlock(sequence, index, targets);
    else if (!copyBlock(sequence, index, targets)) return;
  }
}

/**
 * Page-sharing executors: the sequence's pages of block `index` become the block's (no copy; the cache owns them from
 * now on), or, when another sequence published the same block meanwhile, the sequence points at that block's pages
 * and gives its own back (a group whose page the block lost to eviction adopts the sequence's). Either way the
 * sequence's entries now share the block's pages, pinned in every group.
 */
function shareBlock(sequence: ScheduledSequence, index: number, targets: PublishTargets): void {
  const { cache, allocators, executor } = targets;
  const parent = sequence.blocks[index - 1];
  const own = sequence.tables.map((table) => table.pages[index]!);
  const existing = cache.peek(parent, sequence.tokens, index);
  const block = existing ?? cache.insert(parent, sequence.tokens, index, own)!;
  sequence.tables.forEach((table, group) => {
    const page = own[group]!;
    if (existing !== undefined) {
      const cached = existing.pages[group];
      if (cached === undefined) cache.adopt(existing, group, page);
      else {
        table.pages[index] = cached;
        allocators[group]!.free([page]);
        executor.releasePage(group, page);
      }
    }
    table.shared[index] = block;
    cache.pin(block, group);
  });
  sequence.blocks.push(block);
}

/** Page-copying executors (one group): block `index` gets a page of its own filled by `savePage`; false without one. */
function copyBlock(sequence: ScheduledSequence, index: number, targets: PublishTargets): boolean {
  const { cache, allocators, executor } = targets;
  if (executor.sharesPages) return false;
  const parent = sequence.blocks[index - 1];
  const existing = cache.peek(parent, sequence.tokens, index);
  if (existing !== undefined) {
    sequence.blocks.push(existing);
    return true;
  }
  const page = allocators[0]!.allocate(1)?.[0];
  if (page === undefined) return false;
  executor.savePage(sequence.id, index, sequence.tables[0]!.pages, page);
  sequence.blocks.push(cache.insert(parent, sequence.tokens, index, [page])!);
  return true;
}
