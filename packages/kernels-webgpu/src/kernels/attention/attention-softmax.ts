// The softmax step of the attention kernel's key tiles (attention-kernel.ts): for each query slot, the tile's scores
// become weights against the slot's new running maximum, the slot's sum is rescaled and extended, and the factor that
// rescales its accumulators (slot_alpha) is kept. The running maxima sit in two copies (slot_max[parity · S + slot]):
// a tile reads one and writes the other, so no invocation reads a maximum another one is writing.

/**
 * Invocations per query slot in a tile's softmax: the largest power of two up to 8 with `slots · lanes ≤
 * workgroupSize` (8: the smallest subgroup size of the devices in view, lavapipe's included, so the shuffles run
 * wherever subgroups do).
 */
export function softmaxLanes(slots: number, workgroupSize: number): number {
  let lanes = 1;
  while (lanes < 8 && slots * lanes * 2 <= workgroupSize) lanes *= 2;
  return lanes;
}

/** WGSL: one invocation per query slot walks the tile's scores (each line indented by `indent`). */
const serialSoftmax = (indent: string) =>
  [
    'for (var slot = li; slot < S; slot += WG) {',
    '  let previous = slot_max[parity * S + slot];',
    '  var best = previous;',
    '  for (var column = 0u; column < BC; column++) { best = max(best, scores[slot * BC + column]); }',
    '  var total = 0.0;',
    '  for (var column = 0u; column < BC; column++) {',
    '    let score = scores[slot * BC + column];',
    '    var weight = 0.0;',
    '    if (score > -1.0e38) { weight = exp(score - best); }',
    '    scores[slot * BC + column] = weight;',
    '    total += weight;',
    '  }',
    '  var alpha = 1.0;',
    '  if (previous > -1.0e38) { alpha = exp(previous - best); }',
    '  slot_max[(1u - parity) * S + slot] = best;',
    '  slot_sum[slot] = slot_sum[slot] * alpha + total;',
    '  slot_alpha[slot] = alpha;',
    '}',
  ]
    .map((line) => `${indent}${line}\n`)
    .join('');

/**
 * WGSL of one tile's softmax, after the tile's scores are in `scores` and before its values are read: with `parallel`
 * (subgroups, `T` lanes per slot), the lanes of a slot reduce with `subgroupShuffleXor` when the subgroups hold them
 * (`ss >= T`), else one invocation per slot walks the tile, as it does without subgroups.
 */
export function tileSoftmaxWgsl(parallel: boolean): string {
  return parallel
    ? `    if (ss >= T) {
      // Every invocation takes part in the shuffles (uniform control flow); those past S · T work on a copy of the
      // last slot and write nothing. Lanes of a slot are T consecutive invocations of one subgroup.
      let slot = min(li / T, S - 1u);
      let part = li % T;
      let previous = slot_max[parity * S + slot];
      var best = MASKED;
      for (var column = part; column < BC; column += T) { best = max(best, scores[slot * BC + column]); }
      for (var offset = T / 2u; offset > 0u; offset >>= 1u) { best = max(best, subgroupShuffleXor(best, offset)); }
      best = max(best, previous);
      var total = 0.0;
      if (li < S * T) {
        for (var column = part; column < BC; column += T) {
          let score = scores[slot * BC + column];
          var weight = 0.0;
          if (score > -1.0e38) { weight = exp(score - best); }
          scores[slot * BC + column] = weight;
          total += weight;
        }
      }
      for (var offset = T / 2u; offset > 0u; offset >>= 1u) { total += subgroupShuffleXor(total, offset); }
      if (li < S * T && part == 0u) {
        var alpha = 1.0;
        if (previous > -1.0e38) { alpha = exp(previous - best); }
        slot_max[(1u - parity) * S + slot] = best;
        slot_sum[slot] = slot_sum[slot] * alpha + total;
        slot_alpha[slot] = alpha;
      }
    } else {
${serialSoftmax('      ')}    }
`
    : serialSoftmax('    ');
}
