import { StrataError } from '@strata/core';
import type { Linear } from '../layers/linear.js';

/** Separate query, key and value projections (most models). */
export interface SeparateProjections {
  /** `[heads · headDimensions, hidden]`. */
  readonly query: Linear;
  /** `[keyValueHeads · headDimensions, hidden]`. */
  readonly key: Linear;
  /** `[keyValueHeads · headDimensions, hidden]`. */
  readonly value: Linear;
  /** `[hidden, heads · headDimensions]`. */
  readonly output: Linear;
}

/** One fused query/key/value projection whose output columns are [q | k | v] (Phi-3, Phi-2 GGUF). */
export interface FusedProjections {
  /** `[(heads + 2 · keyValueHeads) · headDimensions, hidden]`. */
  readonly queryKeyValue: Linear;
  /** `[hidden, heads · headDimensions]`. */
  readonly output: Linear;
}

/**
 * Query, key and value projections in groups of concatenated rows, in q, k, v order (a loader's choice where the
 * file's types allow: `[q | k]` and `[v]` when only V has another type, say). The groups' outputs, concatenated, are
 * [q | k | v], and every group ends on a q/k/v boundary.
 */
export interface GroupedProjections {
  /** The groups, each `[its rows, hidden]`. */
  readonly groups: readonly Linear[];
  /** `[hidden, heads · headDimensions]`. */
  readonly output: Linear;
}

/** The projections of an attention layer. */
export type AttentionProjections = SeparateProjections | FusedProjections | GroupedProjections;

/** A projection of the attention's input and the widths of the q/k/v parts of its outputs. */
export interface ProjectionGroup {
  /** The projection (its rows: the parts, concatenated). */
  readonly linear: Linear;
  /** Widths of the q/k/v parts of its outputs, in order. */
  readonly widths: readonly number[];
}

/** The projection groups of any form of projections, checked against the head geometry. */
export function projectionGroups(
  projections: AttentionProjections,
  queryWidth: number,
  keyValueWidth: number,
): ProjectionGroup[] {
  if ('queryKeyValue' in projections) {
    checkWidth(projections.queryKeyValue, queryWidth + 2 * keyValueWidth, 'fused QKV');
    return [{ linear: projections.queryKeyValue, widths: [queryWidth, keyValueWidth, keyValueWidth] }];
  }
  if ('query' in projections) {
    checkWidth(projections.query, queryWidth, 'query');
    checkWidth(projections.key, keyValueWidth, 'key');
    checkWidth(projections.value, keyValueWidth, 'value');
    return [
      { linear: projections.query, widths: [queryWidth] },
      { linear: projections.key, widths: [keyValueWidth] },
      { linear: projections.value, widths: [keyValueWidth] },
    ];
  }
  // Walk the q, k, v parts; each group takes whole parts.
  const parts = [queryWidth, keyValueWidth, keyValueWidth];
  let next = 0;
  const groups = projections.groups.map((linear) => {
    const widths: number[] = [];
    let covered = 0;
    while (covered < linear.outputs && next < parts.length) {
      covered += parts[next]!;
      widths.push(parts[next++]!);
    }
    checkWidth(linear, covered, `grouped (${widths.join(' + ')})`);
    return { linear, widths };
  });
  if (next !== parts.length) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `The grouped projections cover ${next} of the query, key and value parts; they must cover all three.`,
      { details: { groups: projections.groups.length } },
    );
  }
  return groups;
}

function checkWidth(linear: Linear, expected: number, what: string): void {
  if (linear.outputs !== expected) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `The ${what} projection has ${linear.outputs} outputs; the head geometry needs ${expected}.`,
      {
        details: { what, outputs: linear.outputs, expected },
      },
    );
  }
}
