import {
  type Backend,
  createPagedBatch,
  createScopedBackend,
  type KeyValuePrecision,
  type PagedBatch,
  type ScopedBackend,
  StrataError,
  type Tensor,
} from '@strata/core';
import type { CompleteModel, PagedTransformerModel } from '@strata/models';
import { PagedKeyValuePool, type PagedPoolShape } from '../cache/paged-pool.js';
import { transformAndRelease } from '../generation/local-executor.js';
import type { TokenChoice } from '../sampling/token-sampler.js';
import {
  type ChosenTokens,
  chooseBatchedTokens,
  chooseFromLogits,
  type ResultRow,
  wantsLogits,
} from './batched-results.js';
import { DecodePlans } from './decode-plans.js';
import { groupLayersByWindow } from './page-groups.js';
import type { AheadRow, LaunchedStep, StepAheadExecutor } from './step-ahead-executor.js';
import type { PageGroup, PageSharingExecutor, StepRow, StepRowResult } from './step-executor.js';

/** A row of one forward: its ids' count, positions, page tables and what it asks for. */
type ForwardRow = ResultRow & Pick<StepRow, 'sequence' | 'firstPosition' | 'pageTables'>;

/** The choice of every row of a step launched ahead. */
const GREEDY: TokenChoice = { kind: 'greedy' };

/** A whole model that also runs paged batches (every model of the transformer builder). */
export type BatchableModel = CompleteModel & PagedTransformerModel;

/** Options of {@link BatchedStepExecutor}. */
export interface BatchedStepExecutorOptions {
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Most ids per row. */
  readonly chunkSize: number;
  /** Tokens per page. */
  readonly pageSize: number;
  /**
   * Numerics and storage of the KV pool (default `'f32'`; `'f16'` is stored as halves where the backend can, `'q8_0'`
   * as blocks of 32 int8 quants and an f16 scale).
   */
  readonly cacheType?: KeyValuePrecision;
  /**
   * Steps whose every row is one decode token replay a captured step per row count (`Backend.captureStep`, see
   * `DecodePlans`) instead of running every op again (default true: on an H100 it halved a one-sequence step of the
   * 1B shape, 3.47 → 1.81 ms). The tokens are the same.
   */
  readonly capturedDecode?: boolean;
}

/**
 * Continuous batching in one forward per engine step: the rows of every running sequence (a decode token each, plus
 * the prefill chunks of newly admitted ones) are embedded, run through every layer and, for the rows that want a
 * token, through the lm head together, so each weight is one mat-mul over all the rows. Only the cache write and the
 * attention are per sequence, through each row's page tables into paged KV pools (`Backend.pagedAttention`), so
 * prefix-cache pages are shared in place (`sharesPages`). The layers are grouped by sliding window (`pageGroups`: the
 * full-attention layers, each window): each group has a pool of its own (a page holds only the group's layers) and
 * each sequence a page table per group, so a windowed group's pages are given back once they fall out of its window
 * while the full-attention group keeps every position (gemma2/3 mix both). A step uploads one `PagedBatch` per group
 * and hands each layer its group's. A step runs in a tensor scope: everything it makes is freed when it ends; only
 * the pools outlive it (and, until released, the greedy tokens of a launched step).
 *
 * It can launch a step ahead ({@link StepAheadExecutor}): `launch` records a step and issues its reads without awaiting
 * them, and `launchAhead` records the next step of its greedy decode rows with their ids gathered on the device from
 * the tokens the first step chose, so the device runs step N + 1 while the host reads step N back.
 */
export class BatchedStepExecutor implements PageSharingExecutor, StepAheadExecutor {
  /** {@link StepExecutorBase.vocabularySize}. */
  readonly vocabularySize: number;
  /** {@link StepExecutorBase.contextLength}. */
  readonly contextLength: number;
  /** {@link StepExecutorBase.chunkSize}. */
  readonly chunkSize: number;
  /** {@link StepExecutorBase.pageSize}. */
  readonly pageSize: number;
  /** {@link StepExecutorBase.pageGroups}: the full-attention layers, then each sliding window's layers. */
  readonly pageGroups: readonly PageGroup[];
  /** {@link PageSharingExecutor.sharesPages}: attention reads pages through the page tables. */
  readonly sharesPages = true;
  private readonly backend: ScopedBackend;
  /** The shape of each group's pool (its layers' specs). */
  private readonly shapes: readonly PagedPoolShape[];
  /** For each layer, its group and its index among the group's layers. */
  private readonly layerSlots: readonly { readonly group: number; readonly index: number }[];
  private pools: readonly PagedKeyValuePool[] | undefined;
  private readonly capturedDecode: boolean;
  /** The captured decode steps (made with the pools, when {@link BatchedStepExecutorOptions.capturedDecode}). */
  private decodePlans: DecodePlans | undefined;

  /** An executor over `model` (already on `backend`); its pool is sized by {@link BatchedStepExecutor.reservePages}. */
  constructor(
    private readonly model: BatchableModel,
    backend: Backend,
    options: BatchedStepExecutorOptions,
  ) {
    this.backend = createScopedBackend(backend);
    this.vocabularySize = model.vocabularySize;
    this.contextLength = options.contextLength;
    this.chunkSize = options.chunkSize;
    this.pageSize = options.pageSize;
    this.capturedDecode = options.capturedDecode ?? true;
    const specs = model.cacheSpecs;
    const { windows, groupOfLayer } = groupLayersByWindow(specs, options.contextLength);
    const precision = options.cacheType ?? 'f32';
    this.shapes = windows.map((_, group) => ({
      specs: specs.filter((_, layer) => groupOfLayer[layer] === group),
      pageSize: options.pageSize,
      precision,
    }));
    this.pageGroups = windows.map((window, group) => ({
      window,
      bytesPerPage: PagedKeyValuePool.bytesPerPage(this.backend, this.shapes[group]!),
    }));
    this.layerSlots = groupOfLayer.map((group, layer) => ({
      group,
      index: groupOfLayer.slice(0, layer).filter((other) => other === group).length,
    }));
  }

  /** {@link StepAheadExecutor.deferred}: whether the backend records work that the device runs later (`Backend.defersWork`). */
  get deferred(): boolean {
    return this.backend.defersWork;
  }

  /** Bytes of one page in every group together (`pageSize` positions of every layer), as the backend stores them. */
  get bytesPerPage(): number {
    return this.pageGroups.reduce((sum, group) => sum + group.bytesPerPage, 0);
  }

  /** Bytes of the KV pools on the device (0 before {@link BatchedStepExecutor.reservePages}). */
  get cacheByteLength(): number {
    return (this.pools ?? []).reduce((sum, pool) => sum + pool.byteLength, 0);
  }

  /** {@link StepExecutorBase.reservePages}: allocates each group's pool, `pages[g]` pages of its layers. */
  reservePages(pages: readonly number[]): void {
    if (this.pools !== undefined) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        'This executor already holds a KV pool; give each scheduler an executor of its own.',
      );
    }
    if (pages.length !== this.shapes.length) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `This executor has ${this.shapes.length} page groups but ${pages.length} page counts were given; give one per group.`,
        { details: { groups: this.shapes.length, counts: pages.length } },
      );
    }
    const pools = this.shapes.map((shape, group) => new PagedKeyValuePool(this.backend, shape, pages[group]!));
    this.pools = pools;
    if (this.capturedDecode) {
      // No page table holds more than ⌈context / pageSize⌉ pages (windowed groups index pages by position too).
      const width = Math.ceil(this.contextLength / this.pageSize);
      this.decodePlans = new DecodePlans(
        this.backend,
        pools.map(() => width),
        (ids, batches) => this.logits(ids, batches, pools),
      );
    }
  }

  /** {@link StepExecutorBase.step}: one forward over every row, then the lm head over the rows that want a token. */
  async step(rows: readonly StepRow[]): Promise<StepRowResult[]> {
    const launched = this.launch(rows);
    try {
      return await launched.results;
    } finally {
      launched.release();
    }
  }

  /** {@link StepAheadExecutor.launch}: {@link BatchedStepExecutor.step}'s forward, recorded and its reads issued. */
  launch(rows: readonly StepRow[]): LaunchedStep {
    const forwardRows = rows.map((row) => ({ ...row, length: row.ids.length }));
    return this.record(forwardRows, () => {
      const ids = new Int32Array(forwardRows.reduce((sum, row) => sum + row.length, 0));
      let offset = 0;
      for (const row of rows) {
        ids.set(row.ids, offset);
        offset += row.ids.length;
      }
      return ids;
    });
  }

  /**
   * {@link StepAheadExecutor.launchAhead}: one forward over decode rows whose ids are gathered on the device from the
   * greedy tokens of `source` (no read-back in between), each row's token chosen greedily. Throws `INVALID_ARGUMENT`
   * when a row's source row chose no greedy token or `source` holds none.
   */
  launchAhead(source: LaunchedStep, rows: readonly AheadRow[]): LaunchedStep {
    const tokens = source.greedyTokens;
    const picked = rows.map((row) => source.greedyIndex[row.from] ?? -1);
    const missing = picked.findIndex((index) => index < 0);
    if (tokens === undefined || missing >= 0) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `A step launched ahead feeds on greedy tokens of its source step, but source row ${rows[Math.max(0, missing)]?.from} chose none; guess only greedy rows.`,
        { details: { from: rows[Math.max(0, missing)]?.from } },
      );
    }
    const forwardRows = rows.map((row) => ({ ...row, length: 1, choice: GREEDY }));
    return this.record(forwardRows, () => {
      const { backend } = this;
      const column = backend.reshape(tokens, [tokens.shape[0] ?? 0, 1]);
      const gathered = backend.gatherRows(column, picked);
      backend.dispose(column);
      const ids = backend.reshape(gathered, [rows.length]);
      backend.dispose(gathered);
      return ids;
    });
  }

  /**
   * Records one forward over `rows` from the ids `input` makes (`[rows' ids]`: host ids, or an i32 tensor), the token
   * choices and the reads, in a tensor scope that closes once the reads are in, keeping only the greedy tokens (freed
   * by `release`). A step of one decode token per row that wants one replays a captured decode step when asked
   * ({@link BatchedStepExecutorOptions.capturedDecode}).
   */
  private record(rows: readonly ForwardRow[], input: () => Int32Array | Tensor): LaunchedStep {
    const pools = this.pools;
    if (pools === undefined) {
      throw new StrataError('INVALID_ARGUMENT', 'reservePages must size the KV pool before the first step.');
    }
    const misfit = rows.find((row) => row.pageTables.length !== pools.length);
    if (misfit !== undefined) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `Sequence ${misfit.sequence} has ${misfit.pageTables.length} page tables but the executor has ${pools.length} page groups; give one table per group.`,
        { details: { sequence: misfit.sequence, tables: misfit.pageTables.length, groups: pools.length } },
      );
    }
    const { backend, pageSize } = this;
    if (rows.length === 0) {
      return { results: Promise.resolve([]), greedyTokens: undefined, greedyIndex: [], release() {} };
    }
    // One layout per group: the same rows and positions, each group's page tables.
    const layouts = pools.map((_, group) => ({
      pageSize,
      sequences: rows.map((row) => ({
        firstPosition: row.firstPosition,
        rows: row.length,
        pages: row.pageTables[group]!,
      })),
    }));
    const plans = this.decodePlans;
    const replay = plans !== undefined && rows.every(wantsLogits) && plans.fits(layouts);
    const scope = backend.openScope();
    let chosen: ChosenTokens;
    try {
      chosen = scope.run(() => {
        if (replay) return chooseFromLogits(backend, plans.run(input(), layouts), rows);
        const given = input();
        const ids = given instanceof Int32Array ? backend.upload(given, [given.length]) : given;
        const hidden = this.forward(
          ids,
          layouts.map((layout) => createPagedBatch(backend, layout)),
          pools,
        );
        return chooseBatchedTokens(backend, hidden, rows, (last) => this.model.lmHead(last));
      });
    } catch (error) {
      scope.close();
      throw error;
    }
    const greedy = chosen.greedy;
    // Every op was recorded above, so the scope saw the whole step; it closes once the reads are in.
    const results = chosen.results.finally(() => scope.close(greedy === undefined ? [] : [greedy]));
    results.catch(() => {}); // a dropped guess's failure surfaces only if someone awaits it
    return {
      results,
      greedyTokens: greedy,
      greedyIndex: chosen.greedyIndex,
      release: () => {
        if (greedy !== undefined) backend.dispose(greedy);
      },
    };
  }

  /**
   * Embeds `ids` (disposed) and runs every layer over the step's batches (one per page group), each layer through its
   * group's batch and pool: the hidden rows `[rows, width]`.
   */
  private forward(ids: Tensor, groupBatches: readonly PagedBatch[], pools: readonly PagedKeyValuePool[]): Tensor {
    const { backend, model, layerSlots } = this;
    const batches = layerSlots.map((slot) => groupBatches[slot.group]!);
    const caches = layerSlots.map((slot) => pools[slot.group]!.caches[slot.index]!);
    const embedded = model.embed(ids);
    backend.dispose(ids);
    return transformAndRelease(backend, embedded, (states) =>
      model.transformPaged(states, { backend, batches, caches }),
    );
  }

  /** The body of a captured decode step: {@link BatchedStepExecutor.forward} then the lm head over every row. */
  private logits(ids: Tensor, groupBatches: readonly PagedBatch[], pools: readonly PagedKeyValuePool[]): Tensor {
    // The plan owns its ids: embedding a view keeps them (a view's dispose leaves the buffer).
    const hidden = this.forward(this.backend.reshape(ids, ids.shape), groupBatches, pools);
    const logits = this.model.lmHead(hidden);
    this.backend.dispose(hidden);
    return logits;
  }

  /** {@link StepExecutorBase.release}: nothing to do, a sequence's state is its pages. */
  release(): void {
    // The scheduler frees the pages; the pool keeps no per-sequence state.
  }

  /** {@link StepExecutorBase.releasePage}: nothing to do, the page's storage stays in the pool for its next owner. */
  releasePage(): void {
    // A freed page is overwritten by the next sequence that writes it; nothing reads it before.
  }

  /** {@link StepExecutorBase.dispose}: hands the pools back; the model's weights stay. */
  async dispose(): Promise<void> {
    this.decodePlans?.dispose();
    this.decodePlans = undefined;
    for (const pool of this.pools ?? []) pool.dispose();
    this.pools = undefined;
  }
}
