import { StrataError } from '../errors/strata-error.js';

/** Names of every tensor type id in the GGUF specification, including ids whose support ggml removed. */
export type GgmlTypeName =
  | 'F32'
  | 'F16'
  | 'Q4_0'
  | 'Q4_1'
  | 'Q4_2'
  | 'Q4_3'
  | 'Q5_0'
  | 'Q5_1'
  | 'Q8_0'
  | 'Q8_1'
  | 'Q2_K'
  | 'Q3_K'
  | 'Q4_K'
  | 'Q5_K'
  | 'Q6_K'
  | 'Q8_K'
  | 'IQ2_XXS'
  | 'IQ2_XS'
  | 'IQ3_XXS'
  | 'IQ1_S'
  | 'IQ4_NL'
  | 'IQ3_S'
  | 'IQ2_S'
  | 'IQ4_XS'
  | 'I8'
  | 'I16'
  | 'I32'
  | 'I64'
  | 'F64'
  | 'IQ1_M'
  | 'BF16'
  | 'Q4_0_4_4'
  | 'Q4_0_4_8'
  | 'Q4_0_8_8'
  | 'TQ1_0'
  | 'TQ2_0'
  | 'IQ4_NL_4_4'
  | 'IQ4_NL_4_8'
  | 'IQ4_NL_8_8'
  | 'MXFP4';

/** One row of the ggml type table: how a type stores its elements. */
export interface GgmlTypeInfo {
  /** The id stored in GGUF tensor infos. */
  readonly id: number;
  /** The canonical ggml name. */
  readonly name: GgmlTypeName;
  /** Elements per block (1 for plain element types). */
  readonly blockSize: number;
  /** Bytes one block occupies; 0 for ids whose layout ggml removed (such tensors cannot be read). */
  readonly bytesPerBlock: number;
  /** True for ids ggml no longer supports in files (their block layout is undefined). */
  readonly removed: boolean;
}

const row = (id: number, name: GgmlTypeName, blockSize: number, bytesPerBlock: number): GgmlTypeInfo =>
  Object.freeze({ id, name, blockSize, bytesPerBlock, removed: bytesPerBlock === 0 });

/** Every type id of the GGUF specification with its block geometry, in id order. */
export const GGML_TYPES: readonly GgmlTypeInfo[] = Object.freeze([
  row(0, 'F32', 1, 4),
  row(1, 'F16', 1, 2),
  row(2, 'Q4_0', 32, 18),
  row(3, 'Q4_1', 32, 20),
  row(4, 'Q4_2', 32, 0),
  row(5, 'Q4_3', 32, 0),
  row(6, 'Q5_0', 32, 22),
  row(7, 'Q5_1', 32, 24),
  row(8, 'Q8_0', 32, 34),
  row(9, 'Q8_1', 32, 36),
  row(10, 'Q2_K', 256, 84),
  row(11, 'Q3_K', 256, 110),
  row(12, 'Q4_K', 256, 144),
  row(13, 'Q5_K', 256, 176),
  row(14, 'Q6_K', 256, 210),
  row(15, 'Q8_K', 256, 292),
  row(16, 'IQ2_XXS', 256, 66),
  row(17, 'IQ2_XS', 256, 74),
  row(18, 'IQ3_XXS', 256, 98),
  row(19, 'IQ1_S', 256, 50),
  row(20, 'IQ4_NL', 32, 18),
  row(21, 'IQ3_S', 256, 110),
  row(22, 'IQ2_S', 256, 82),
  row(23, 'IQ4_XS', 256, 136),
  row(24, 'I8', 1, 1),
  row(25, 'I16', 1, 2),
  row(26, 'I32', 1, 4),
  row(27, 'I64', 1, 8),
  row(28, 'F64', 1, 8),
  row(29, 'IQ1_M', 256, 56),
  row(30, 'BF16', 1, 2),
  row(31, 'Q4_0_4_4', 32, 0),
  row(32, 'Q4_0_4_8', 32, 0),
  row(33, 'Q4_0_8_8', 32, 0),
  row(34, 'TQ1_0', 256, 54),
  row(35, 'TQ2_0', 256, 66),
  row(36, 'IQ4_NL_4_4', 32, 0),
  row(37, 'IQ4_NL_4_8', 32, 0),
  row(38, 'IQ4_NL_8_8', 32, 0),
  row(39, 'MXFP4', 32, 17),
]);

const BY_NAME: ReadonlyMap<string, GgmlTypeInfo> = new Map(GGML_TYPES.map((info) => [info.name, info]));

/** Looks up a type by its GGUF id; throws `UNKNOWN_TENSOR_TYPE` naming the id when the specification has none. */
export function ggmlTypeFromId(id: number): GgmlTypeInfo {
  const info = Number.isInteger(id) ? GGML_TYPES[id] : undefined;
  if (info === undefined) {
    throw new StrataError(
      'UNKNOWN_TENSOR_TYPE',
      `Unknown ggml tensor type id ${id}; known ids are 0-${GGML_TYPES.length - 1}. The file may come from a newer ggml: upgrade strata or re-quantize it.`,
      { details: { id } },
    );
  }
  return info;
}

/** Looks up a type by its ggml name. */
export function ggmlTypeFromName(name: GgmlTypeName): GgmlTypeInfo {
  const info = BY_NAME.get(name);
  if (info === undefined) {
    throw new StrataError('UNKNOWN_TENSOR_TYPE', `Unknown ggml tensor type ${String(name)}.`, { details: { name } });
  }
  return info;
}

/**
 * Bytes a row-major tensor of `elementCount` elements takes in `type`. Throws `INVALID_TENSOR_INFO` when the count is
 * not a whole number of blocks, and `UNSUPPORTED_TENSOR_TYPE` for removed layouts.
 */
export function ggmlByteLength(type: GgmlTypeInfo, elementCount: number): number {
  if (type.removed) {
    throw new StrataError(
      'UNSUPPORTED_TENSOR_TYPE',
      `ggml type ${type.name} (id ${type.id}) was removed from ggml and has no defined layout; re-quantize the model.`,
      { details: { type: type.name } },
    );
  }
  if (!Number.isSafeInteger(elementCount) || elementCount < 0 || elementCount % type.blockSize !== 0) {
    throw new StrataError(
      'INVALID_TENSOR_INFO',
      `${elementCount} elements is not a whole number of ${type.name} blocks of ${type.blockSize}.`,
      { details: { type: type.name, elementCount } },
    );
  }
  return (elementCount / type.blockSize) * type.bytesPerBlock;
}
