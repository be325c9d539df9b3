import { StrataError } from '@strata/core';

/**
 * How one attention call is split into workgroups. A workgroup holds `slots` queries: `rowsPerBlock` consecutive query
 * rows × `headsPerBlock` query heads that share one key/value head (GQA), so each key/value tile it loads into
 * workgroup memory serves all of them. The keys of a block may be split over `splits` workgroups (flash decoding),
 * whose partial softmax states a second kernel combines.
 */
export interface AttentionPlan {
  /** Consecutive query rows per workgroup: a power of two, at most the rows of the call. */
  readonly rowsPerBlock: number;
  /** Query heads per workgroup: a divisor of the GQA group size `heads / keyValueHeads`. */
  readonly headsPerBlock: number;
  /** `rowsPerBlock · headsPerBlock`. */
  readonly slots: number;
  /** Keys per tile. */
  readonly keyTile: number;
  /** Invocations per workgroup: 256, 128 or 64 as `slots · headDimensions` is ≥ 512, ≥ 256 or smaller. */
  readonly workgroupSize: number;
  /** Key-range splits per block (1: no combine pass). */
  readonly splits: number;
}

/** What the plan depends on. */
export interface AttentionShape {
  /** Query rows of the call (tokens of the step). */
  readonly rows: number;
  /** Query heads (`AttentionOptions.heads`). */
  readonly heads: number;
  /** Key/value heads; divides `heads` (GQA group size `heads / keyValueHeads`). */
  readonly keyValueHeads: number;
  /** Elements per head; with the tile sizes it decides the workgroup memory a plan needs (4 bytes per float). */
  readonly headDimensions: number;
  /** Keys the last query row sees (bounds the work per block). */
  readonly keys: number;
  /**
   * Paged calls: the rows of each sequence (a block never spans two, so each has ⌈rows / rowsPerBlock⌉ blocks).
   * Absent: one sequence of `rows` rows.
   */
  readonly sequenceRows?: readonly number[];
}

/** Query blocks of `shape` with blocks of `rowsPerBlock` rows that never span two sequences. */
export function queryBlocks(shape: AttentionShape, rowsPerBlock: number): number {
  const rows = shape.sequenceRows ?? [shape.rows];
  return rows.reduce((sum, count) => sum + Math.ceil(count / rowsPerBlock), 0);
}

/** Tunables of {@link planAttention}. */
export interface AttentionTuning {
  /** Most query slots per workgroup. */
  readonly maxSlots: number;
  /** Workgroups to aim for before splitting keys (a few per GPU core). */
  readonly targetWorkgroups: number;
  /** Fewest keys one split handles. */
  readonly minKeysPerSplit: number;
  /** Most keys per tile. */
  readonly maxKeyTile: number;
}

/** Defaults: 16 slots, 256 workgroups, 64 keys per split (one tile), tiles of up to 64 keys. */
export const DEFAULT_ATTENTION_TUNING: AttentionTuning = {
  maxSlots: 16,
  targetWorkgroups: 256,
  minKeysPerSplit: 64,
  maxKeyTile: 64,
};

// Tile rows are padded by 4 floats where the head size is a multiple of 4 (vec4 reads), else by 1.
const floatsOf = (slots: number, keyTile: number, headDimensions: number) =>
  slots * headDimensions +
  keyTile * (headDimensions + (headDimensions % 4 === 0 ? 4 : 1)) +
  slots * keyTile +
  4 * slots;

function largestDivisorAtMost(value: number, limit: number): number {
  for (let divisor = Math.min(value, Math.max(1, limit)); divisor > 1; divisor--)
    if (value % divisor === 0) return divisor;
  return 1;
}

/** Picks the plan that fits `workgroupStorageBytes` (see {@link AttentionPlan}). */
export function planAttention(
  shape: AttentionShape,
  workgroupStorageBytes: number,
  tuning: AttentionTuning = DEFAULT_ATTENTION_TUNING,
): AttentionPlan {
  const { rows, heads, keyValueHeads, headDimensions } = shape;
  const group = heads / keyValueHeads;
  const budget = Math.floor(workgroupStorageBytes / 4);
  let headsPerBlock = largestDivisorAtMost(group, tuning.maxSlots);
  const longest = Math.max(...(shape.sequenceRows ?? [rows]));
  let rowsPerBlock = 1;
  while (rowsPerBlock * 2 * headsPerBlock <= tuning.maxSlots && rowsPerBlock < longest) rowsPerBlock *= 2;
  let keyTile = Math.min(tuning.maxKeyTile, longest * headsPerBlock <= 4 ? 64 : 32);
  const slots = () => rowsPerBlock * headsPerBlock;
  const fits = () => floatsOf(slots(), keyTile, headDimensions) <= budget;
  while (!fits() && keyTile > 16) keyTile = Math.ceil(keyTile / 2);
  while (!fits() && rowsPerBlock > 1) rowsPerBlock /= 2;
  while (!fits() && headsPerBlock > 1) headsPerBlock = largestDivisorAtMost(group, headsPerBlock - 1);
  while (!fits() && keyTile > 1) keyTile = Math.ceil(keyTile / 2);
  if (!fits()) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: heads of ${headDimensions} dimensions do not fit the GPU's ${workgroupStorageBytes} bytes of workgroup memory.`,
    );
  }
  const work = slots() * headDimensions;
  // Wide workgroups for decode-sized blocks too: each invocation's serial chain of tile loads is what bounds a block.
  const workgroupSize = work >= 512 ? 256 : work >= 256 ? 128 : 64;
  const blocks = queryBlocks(shape, rowsPerBlock) * (heads / headsPerBlock);
  let splits = 1;
  if (blocks < tuning.targetWorkgroups) {
    const byKeys = Math.floor(shape.keys / Math.max(tuning.minKeysPerSplit, keyTile));
    splits = Math.max(1, Math.min(Math.ceil(tuning.targetWorkgroups / blocks), byKeys, 64));
  }
  return { rowsPerBlock, headsPerBlock, slots: slots(), keyTile, workgroupSize, splits };
}
