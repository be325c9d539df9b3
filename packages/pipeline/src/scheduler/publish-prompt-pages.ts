import type { PageAllocator } from './page-allocator.js';
import type { PrefixCache } from './prefix-cache.js';
import type { ScheduledSequence } from './scheduled-sequence.js';
import type { StepExecutor } from './step-executor.js';

/** What publishing draws on. */
export interface PublishTargets {
  /** The cache the blocks go to. */
  readonly cache: PrefixCache;
  /** Where a block's page comes from (publishing never evicts or preempts: no free page, no block). */
  readonly allocator: PageAllocator;
  /** Copies a sequence's page into the block's page, or (sharing pages) hands the page to the block as it is. */
  readonly executor: StepExecutor;
}

/**
 * Publishes the full prompt pages a step wrote (positions `[before, end)`) as prefix-cache blocks, in order, each keyed
 * by the block before it. Prefill chunks end on page boundaries, so each of these pages was written within this one
 * step and is intact even in a sliding-window ring cache. A block already cached by another sequence is reused as the
 * parent of the next one.
 */
export function publishPromptPages(
  sequence: ScheduledSequence,
  before: number,
  end: number,
  targets: PublishTargets,
): void {
  const { pageSize } = targets.cache;
  const executor = targets.executor;
  const promptPages = Math.floor(sequence.settings.promptIds.length / pageSize);
  const limit = Math.min(promptPages, Math.floor(end / pageSize));
  for (let index = Math.ceil(before / pageSize); index < limit; index++) {
    if (sequence.blocks.length !== index) return; // an earlier block is missing: later ones cannot be keyed
    const parent = sequence.blocks[index - 1];
    const existing = targets.cache.peek(parent, sequence.tokens, index);
    if (executor.sharesPages) {
      if (sequence.sharedPages !== index) return; // shared pages must lead the page table
      const own = sequence.pages[index]!;
      let block = existing;
      if (block === undefined) {
        // The page itself becomes the block: no copy; the cache owns it from now on.
        block = targets.cache.insert(parent, sequence.tokens, index, own)!;
      } else {
        // Another sequence published the same block meanwhile: point at its page and give ours back.
        sequence.pages[index] = block.page;
        targets.allocator.free([own]);
        executor.releasePage(own);
      }
      targets.cache.pin(block);
      sequence.pinned.push(block);
      sequence.sharedPages++;
      sequence.blocks.push(block);
      continue;
    }
    if (existing !== undefined) {
      sequence.blocks.push(existing);
      continue;
    }
    const page = targets.allocator.allocate(1)?.[0];
    if (page === undefined) return;
    executor.savePage(sequence.id, index, sequence.pages, page);
    sequence.blocks.push(targets.cache.insert(parent, sequence.tokens, index, page)!);
  }
}
