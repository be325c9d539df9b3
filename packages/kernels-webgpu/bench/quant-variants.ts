// The one-row quantized kernel variants `matvec-bench.ts --quant` checks and times side by side, and their names.
import {
  DEFAULT_QUANT_TUNING,
  Q4K_MATVEC_TUNING,
  Q6K_MATVEC_TUNING,
  type QuantMatvecTuning,
} from '../src/kernels/matmul/quant-matvec-shader.js';

/** The types with a specialised one-row kernel. */
export type QuantType = 'Q4_K' | 'Q6_K' | 'Q8_0';

/** Variants per type; the routed one (if any) first. */
export const QUANT_VARIANTS: Readonly<Record<QuantType, readonly QuantMatvecTuning[]>> = {
  Q4_K: [
    Q4K_MATVEC_TUNING,
    { layout: 'group', rowsPerWorkgroup: 8 },
    { layout: 'group', rowsPerWorkgroup: 4 },
    { layout: 'group', rowsPerWorkgroup: 8, conversion: 'integer' },
    { layout: 'vector', rowsPerWorkgroup: 2, workgroupSize: 32 },
    { layout: 'vector', rowsPerWorkgroup: 8, workgroupSize: 64 },
    { layout: 'vector', rowsPerWorkgroup: 4, workgroupSize: 128 },
    { layout: 'vector', rowsPerWorkgroup: 8, workgroupSize: 64, conversion: 'integer' },
    { layout: 'rows', rowsPerWorkgroup: 16, workgroupSize: 256 },
    { layout: 'rows', rowsPerWorkgroup: 32, workgroupSize: 256 },
    { layout: 'rows', rowsPerWorkgroup: 32, workgroupSize: 256, conversion: 'integer' },
    { layout: 'group', rowsPerWorkgroup: 4, conversion: 'int8' },
    { layout: 'group', rowsPerWorkgroup: 8, conversion: 'int8' },
  ],
  Q6_K: [Q6K_MATVEC_TUNING, { rowsPerWorkgroup: 4 }, DEFAULT_QUANT_TUNING],
  Q8_0: [
    { layout: 'rows', rowsPerWorkgroup: 32 },
    { layout: 'group', rowsPerWorkgroup: 4 },
    { layout: 'group', rowsPerWorkgroup: 8 },
    { layout: 'group', rowsPerWorkgroup: 8, conversion: 'mantissa' },
    { layout: 'group', rowsPerWorkgroup: 4, conversion: 'int8' },
    { layout: 'group', rowsPerWorkgroup: 8, conversion: 'int8' },
    { layout: 'group', rowsPerWorkgroup: 16, conversion: 'int8' },
  ],
};

/** The tuning `matmul` routes one-row products of `type` to, or undefined (the wide kernel: Q8_0). */
export function routedQuantTuning(type: QuantType): QuantMatvecTuning | undefined {
  if (type === 'Q4_K') return Q4K_MATVEC_TUNING;
  return type === 'Q6_K' ? Q6K_MATVEC_TUNING : undefined;
}

/** A short name of a variant, as the bench prints it: layout, rows, workgroup size, conversion, `*` when routed. */
export function quantVariantName(type: QuantType, tuning: QuantMatvecTuning): string {
  const layout = type === 'Q6_K' ? 'group' : (tuning.layout ?? (type === 'Q8_0' ? 'rows' : 'group'));
  const size = tuning.workgroupSize === undefined ? '' : ` wg${tuning.workgroupSize}`;
  const defaultConversion = type === 'Q8_0' ? 'integer' : 'mantissa';
  const conversion = (tuning.conversion ?? defaultConversion) === defaultConversion ? '' : ` ${tuning.conversion}`;
  const routed = tuning === routedQuantTuning(type) ? '*' : '';
  return `${layout} r${tuning.rowsPerWorkgroup}${size}${conversion}${routed}`;
}
