import { StrataError, type WeightType, ggmlByteLength, ggmlTypeFromName } from '@strata/core';
import { BF16_SHADER, F16_SHADER, F32_SHADER } from './float-types.js';
import { IQ4_NL_SHADER, IQ4_XS_SHADER } from './iq4.js';
import { Q2_K_SHADER, Q3_K_SHADER, Q4_K_SHADER, Q5_K_SHADER, Q6_K_SHADER } from './k-quants.js';
import { Q4_0_SHADER, Q4_1_SHADER, Q5_0_SHADER, Q5_1_SHADER, Q8_0_SHADER } from './legacy-quants.js';
import { type WeightShader, weightHelpers } from './weight-shader.js';

export type { WeightShader } from './weight-shader.js';

const SHADERS: Readonly<Record<WeightType, WeightShader>> = {
  F32: F32_SHADER,
  F16: F16_SHADER,
  BF16: BF16_SHADER,
  Q8_0: Q8_0_SHADER,
  Q4_0: Q4_0_SHADER,
  Q4_1: Q4_1_SHADER,
  Q5_0: Q5_0_SHADER,
  Q5_1: Q5_1_SHADER,
  Q2_K: Q2_K_SHADER,
  Q3_K: Q3_K_SHADER,
  Q4_K: Q4_K_SHADER,
  Q5_K: Q5_K_SHADER,
  Q6_K: Q6_K_SHADER,
  IQ4_NL: IQ4_NL_SHADER,
  IQ4_XS: IQ4_XS_SHADER,
};

/** The WGSL reader of a weight type; throws `UNSUPPORTED_TENSOR_TYPE` for a type no kernel reads. */
export function weightShader(type: WeightType): WeightShader {
  const shader = SHADERS[type];
  if (shader === undefined) {
    throw new StrataError(
      'UNSUPPORTED_TENSOR_TYPE',
      `The WebGPU kernels cannot read weights of type ${String(type)}.`,
      {
        details: { type },
      },
    );
  }
  return shader;
}

/** Bytes one row of `columns` elements takes in `type`. */
export function rowByteLength(type: WeightType, columns: number): number {
  return ggmlByteLength(ggmlTypeFromName(type), columns);
}

/** True when every 4-byte read of a row of this type and width starts on a word boundary (one load instead of two). */
export function rowsWordAligned(type: WeightType, columns: number): boolean {
  const info = ggmlTypeFromName(type);
  if (info.blockSize === 1) return (columns * info.bytesPerBlock) % 4 === 0;
  return info.bytesPerBlock % 4 === 0;
}

/**
 * The WGSL that declares nothing but the helpers and `unit_load`/`unit_column`/`dequant4` of `type`; the including
 * shader declares `weights: array<u32>` itself.
 */
export function weightReaderWgsl(type: WeightType, columns: number): string {
  return `${weightHelpers(rowsWordAligned(type, columns))}\n${weightShader(type).code}`;
}
