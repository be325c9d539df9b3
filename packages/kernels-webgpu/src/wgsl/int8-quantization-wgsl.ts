const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

/** The bits of fl32(`value`) as a WGSL `u32` literal (a bit pattern, so no compiler rounds the constant another way). */
export function wgslFloatBits(value: number): string {
  SCRATCH_F32[0] = value;
  return `0x${SCRATCH_U32[0]!.toString(16)}u`;
}

/**
 * WGSL of `fn NAME(x: f32, d: f32) -> i32`: round(x / d), halves away from zero, clamped to ±127; 0 when d is 0.
 * The rounded quotient of the GPU's division (which may be off by 2.5 ulp) is only a candidate: x is compared with the
 * midpoints (q ± ½) · d, exact in f32 when d has at most 11 significant bits, and the candidate moved by one where it
 * was wrong, so ties and near-ties land as on the CPU. Shared by the int8 activation quantizer and the q8_0 cache.
 */
export function wgslInt8QuantFunction(name: string): string {
  return /* wgsl */ `fn ${name}(x: f32, d: f32) -> i32 {
  if (d == 0.0) { return 0; }
  var q = round(x / d);
  let upper = (q + 0.5) * d;
  let lower = (q - 0.5) * d;
  if (x > upper || (x == upper && x > 0.0)) { q += 1.0; }
  else if (x < lower || (x == lower && x < 0.0)) { q -= 1.0; }
  return i32(clamp(q, -127.0, 127.0));
}`;
}
