/**
 * `count` reproducible pseudo-random values in `[-spread, spread)` from `seed` (a linear congruential generator), for
 * test inputs that the CPU reference and the WebGPU kernels both receive.
 */
export function testValues(count: number, seed: number, spread = 1): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return ((state / 2147483648) * 2 - 1) * spread;
  });
}
