/** One subgroup-matrix configuration as Dawn reports it in `adapter.info.subgroupMatrixConfigs`. */
export interface AdapterMatrixConfig {
  /** Component type of the left and right matrices (`'i8'`, `'u8'`, `'f16'`, …). */
  readonly componentType: string;
  /** Component type of the result matrix. */
  readonly resultComponentType: string;
  /** Rows of the left and result matrices. */
  readonly M: number;
  /** Columns of the right and result matrices. */
  readonly N: number;
  /** Columns of the left matrix, rows of the right one. */
  readonly K: number;
}

/** Adapter information with Dawn's subgroup fields (absent in browsers that do not report them). */
export type DawnAdapterInfo = GPUAdapterInfo & {
  readonly subgroupMinSize?: number;
  readonly subgroupMaxSize?: number;
  readonly subgroupMatrixConfigs?: readonly AdapterMatrixConfig[];
};

/** The adapter's subgroup-matrix configurations as plain objects (Dawn's fields are getters); none when it reports none. */
export function adapterMatrixConfigs(info: DawnAdapterInfo): AdapterMatrixConfig[] {
  return (info.subgroupMatrixConfigs ?? []).map((config) => ({
    componentType: config.componentType,
    resultComponentType: config.resultComponentType,
    M: config.M,
    N: config.N,
    K: config.K,
  }));
}

/**
 * The i8 → i32 subgroup-matrix shape the int8 prefill mat-mul is built for, with the adapter's (fixed) subgroup size:
 * left matrices `M × K`, right `K × N`, results `M × N`.
 */
export interface Int8SubgroupMatrix {
  /** Rows of the left and result matrices. */
  readonly M: number;
  /** Columns of the right and result matrices. */
  readonly N: number;
  /** Depth of one multiply (8-bit components); divides 32, the activation block. */
  readonly K: number;
  /** Invocations per subgroup (the adapter's minimum and maximum agree). */
  readonly subgroupSize: number;
}

/**
 * The i8 → i32 configuration the int8 GEMM can use, the largest `M · N` first, or undefined. A configuration qualifies
 * when its depth `K` divides 32 (one activation block is a whole number of multiplies) and the subgroup size is fixed
 * (`minSize === maxSize`: a kernel's subgroup count per workgroup must be known) and divides the result matrix by
 * whole rows (`N` divides it, it divides `M · N`), so each invocation owns the same elements of every result.
 */
export function pickInt8SubgroupMatrix(
  configs: readonly AdapterMatrixConfig[],
  minSize: number | undefined,
  maxSize: number | undefined,
): Int8SubgroupMatrix | undefined {
  if (minSize === undefined || maxSize === undefined || minSize !== maxSize || minSize <= 0) return undefined;
  const subgroupSize = minSize;
  const usable = configs.filter(
    (config) =>
      config.componentType === 'i8' &&
      config.resultComponentType === 'i32' &&
      config.K > 0 &&
      32 % config.K === 0 &&
      config.N > 0 &&
      subgroupSize % config.N === 0 &&
      (config.M * config.N) % subgroupSize === 0,
  );
  const best = [...usable].sort((left, right) => right.M * right.N - left.M * left.N || right.K - left.K)[0];
  return best === undefined ? undefined : { M: best.M, N: best.N, K: best.K, subgroupSize };
}
