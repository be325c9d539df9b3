/** @packageDocumentation @strata/kernels-cpu — see README.md. */
export {
  blockGeometry,
  type BlockGeometry,
  dequantize,
  dequantizeInto,
  dequantizeRow,
  rowByteLength,
} from './quant/dequantize.js';
export { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from './quant/half.js';
export { IQ4_CODEBOOK } from './quant/iq4.js';
export { createCpuBackend } from './cpu-backend.js';
export { erf } from './ops/elementwise.js';
