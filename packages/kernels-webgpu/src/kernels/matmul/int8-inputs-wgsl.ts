/**
 * Statements rounding the 64 inputs `x0` … `x15` (`vec4<f32>`, norm gain applied) of a unit to 8 bits in two blocks
 * of 32: block b's scale `xd{b}` is `activation_scale` of its largest magnitude (the 11-bit scale of the int8 prefill
 * path), its quants `xq{8b}` … `xq{8b+7}` (4 per word, lowest byte first) are `round(x · (1 / xd{b}))`, ties to even,
 * clamped to ±127: the quotient by the reciprocal, as llama.cpp's `quantize_row_q8_1` rounds, not the exact one of
 * the prefill quantizer (a quant may differ by one from it at a near-tie).
 */
export function int8InputsWgsl(): string {
  const lines: string[] = [];
  for (const block of [0, 1]) {
    const first = block * 8;
    const vectors = Array.from({ length: 8 }, (_, i) => `abs(x${first + i})`);
    lines.push(
      `    let xm${block} = max(max(max(${vectors[0]}, ${vectors[1]}), max(${vectors[2]}, ${vectors[3]})), max(max(${vectors[4]}, ${vectors[5]}), max(${vectors[6]}, ${vectors[7]})));`,
      `    let xd${block} = activation_scale(max(max(xm${block}.x, xm${block}.y), max(xm${block}.z, xm${block}.w)));`,
      `    let xr${block} = select(0.0, 1.0 / xd${block}, xd${block} > 0.0);`,
    );
    for (let i = first; i < first + 8; i++) {
      lines.push(
        `    let xq${i} = pack4xI8(vec4<i32>(clamp(round(x${i} * xr${block}), vec4<f32>(-127.0), vec4<f32>(127.0))));`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * WGSL sum of the 8 terms `term(0)` … `term(7)` (a block's 8 words of packed 8-bit dots) as a tree of independent
 * chains: `((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7))`.
 */
export function sumOfEightWgsl(term: (k: number) => string): string {
  const t = Array.from({ length: 8 }, (_, k) => term(k));
  return `(${t[0]} + ${t[1]}) + (${t[2]} + ${t[3]}) + ((${t[4]} + ${t[5]}) + (${t[6]} + ${t[7]}))`;
}
