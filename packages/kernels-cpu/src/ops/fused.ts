import {
  type ActivationKind,
  type Backend,
  type InputNorm,
  type Projection,
  StrataError,
  type Tensor,
  type WeightTensor,
} from '@strata/core';

// The fused projection ops of the Backend contract, as the composition of the reference's own ops: the CPU stays the
// reference, and a fused op gives exactly the numbers of the ops it stands for.

/** `input`, RMS-normalised by `norm` when given (a new tensor), else `input` itself. */
function normalized(backend: Backend, input: Tensor, norm: InputNorm | undefined): Tensor {
  return norm === undefined ? input : backend.rmsNorm(input, norm.weight, norm.epsilon);
}

/** `rmsNorm`, then per projection `matmul` and `splitColumns` (see `Backend.rmsNormMatmul`). */
export function rmsNormMatmul(
  backend: Backend,
  input: Tensor,
  norm: InputNorm | undefined,
  projections: readonly Projection[],
): Tensor[] {
  const normed = normalized(backend, input, norm);
  try {
    return projections.flatMap((projection) => {
      const product = backend.matmul(normed, projection.weight, projection.bias);
      const widths = projection.widths;
      if (widths === undefined || widths.length === 1) {
        const out = product.shape[product.shape.length - 1];
        if (widths !== undefined && widths[0] !== out) {
          backend.dispose(product);
          throw new StrataError(
            'SHAPE_MISMATCH',
            `rmsNormMatmul: width ${widths[0]} differs from the ${out} outputs of the projection; widths must add up to them.`,
          );
        }
        return [product];
      }
      const rows = product.shape.length === 0 ? 0 : product.shape.slice(0, -1).reduce((total, size) => total * size, 1);
      const matrix = backend.reshape(product, [rows, product.shape[product.shape.length - 1]!]);
      backend.dispose(product);
      try {
        const parts = backend.splitColumns(matrix, widths);
        const leading = input.shape.slice(0, -1);
        return parts.map((part, index) => {
          if (leading.length === 1) return part;
          const shaped = backend.reshape(part, [...leading, widths[index]!]);
          backend.dispose(part);
          return shaped;
        });
      } finally {
        backend.dispose(matrix);
      }
    });
  } finally {
    if (normed !== input) backend.dispose(normed);
  }
}

/** `rmsNorm`, `matmul`, the gate and up halves by `splitColumns`, then `gatedActivation` (see `Backend.rmsNormGatedMatmul`). */
export function rmsNormGatedMatmul(
  backend: Backend,
  input: Tensor,
  norm: InputNorm | undefined,
  weight: WeightTensor,
  kind: ActivationKind,
): Tensor {
  const out = weight.shape[0] ?? 0;
  if (weight.shape.length !== 2 || out % 2 !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `rmsNormGatedMatmul needs a weight [2 · intermediate, columns] of gate rows then up rows; got [${weight.shape.join(', ')}].`,
      { details: { shape: [...weight.shape] } },
    );
  }
  const [gate, up] = rmsNormMatmul(backend, input, norm, [{ weight, widths: [out / 2, out / 2] }]) as [Tensor, Tensor];
  try {
    return backend.gatedActivation(gate, up, kind);
  } finally {
    backend.dispose(gate);
    backend.dispose(up);
  }
}

/** `add(residual, matmul(input, weight, bias))` (see `Backend.matmulAdd`). */
export function matmulAdd(
  backend: Backend,
  input: Tensor,
  weight: WeightTensor,
  residual: Tensor,
  bias?: WeightTensor,
): Tensor {
  const product = backend.matmul(input, weight, bias);
  try {
    const sameShape =
      residual.shape.length === product.shape.length &&
      residual.shape.every((size, index) => size === product.shape[index]);
    if (!sameShape) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `matmulAdd: the residual [${residual.shape.join(', ')}] must have the product's shape [${product.shape.join(', ')}].`,
      );
    }
    return backend.add(residual, product);
  } finally {
    backend.dispose(product);
  }
}
