import type { InputNorm, Tensor } from '@strata/core';

/**
 * What a block hands a residual branch (an attention, a feed-forward network) to fold into the branch's own projections
 * instead of running it as separate ops: the RMSNorm of the branch input, applied inside the first projections
 * (`Backend.rmsNormMatmul`, `Backend.rmsNormGatedMatmul`), and the residual, added inside the last projection
 * (`Backend.matmulAdd`). A branch given either must apply it: the result is the same numbers as norm → branch → add.
 */
export interface BranchFusion {
  /** The RMSNorm of the branch input (the branch then receives the input un-normalised). */
  readonly norm?: InputNorm;
  /** Added to the branch output by its last projection (the branch then returns input + branch). */
  readonly residual?: Tensor;
}
