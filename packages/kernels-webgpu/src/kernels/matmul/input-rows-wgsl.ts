import { activationFunction } from '../wgsl/math.js';
import { workgroupReduction } from '../wgsl/reduce.js';
import type { FusionStoreShape, MatvecFusion } from './matvec-fusion.js';

// The parts of a register-rows kernel (`register-rows-kernel.ts`) that change when one workgroup multiplies each weight
// row it reads with several input rows (a row group of a batched decode step, workgroup z): the input rows' bases, the
// reduction of one accumulator per (output row, input row), and the fused store of each input row. Every accumulator
// is reduced and stored by the same arithmetic as the one-row kernel's (`row-reduction.ts`, `fusionStore`), so input
// row b of a product equals the one-row product of that row bit for bit.

/** The name of a per-input-row value: `name` in a one-row kernel, `name{row}` over several input rows. */
export function inputRowName(name: string, inputRows: number, row: number): string {
  return inputRows === 1 ? name : `${name}${row}`;
}

/** The accumulator of output row `row` for input row `input`: `acc{row}` in a one-row kernel, else `acc{row}_{input}`. */
export function accumulatorName(row: number, input: number, inputRows: number): string {
  return inputRows === 1 ? `acc${row}` : `acc${row}_${input}`;
}

/**
 * Statements that locate the input rows of the workgroup's row group: `firstInput` (group z · `inputRows`) and
 * `inputBase{b}`, the first `vec4` of input row b, clamped to the product's last row (`params.slots` rows).
 */
export function inputRowBases(inputRows: number, columns: number): string {
  const lines = [`  let firstInput = group.z * ${inputRows}u;`];
  for (let row = 0; row < inputRows; row++) {
    lines.push(`  let inputBase${row} = min(firstInput + ${row}u, params.slots - 1u) * ${columns / 4}u;`);
  }
  return lines.join('\n');
}

/**
 * The reduction of `rows` × `inputRows` accumulators over the workgroup into `result{b}` of invocation `r < rows`
 * (`rowReduction`'s arithmetic per accumulator; the kernel declares `scratch` of `rows · inputRows · workgroupSize`
 * floats and `var result{b} = 0.0;`).
 */
export function inputRowsReduction(rows: number, inputRows: number, workgroupSize: number, subgroups: boolean): string {
  const slots: { name: string; slot: number }[] = [];
  for (let input = 0; input < inputRows; input++) {
    for (let row = 0; row < rows; row++) {
      slots.push({ name: accumulatorName(row, input, inputRows), slot: input * rows + row });
    }
  }
  const inputs = Array.from({ length: inputRows }, (_, input) => input);
  if (subgroups) {
    return `
${slots.map(({ name, slot }) => `  let total_${name} = subgroupAdd(${name});\n  if (sl == 0u) { scratch[${slot}u * ${workgroupSize}u + li / ss] = total_${name}; }`).join('\n')}
  workgroupBarrier();
  if (li < ${rows}u) {
${inputs
  .map(
    (input) => `    {
      var sum = 0.0;
      for (var k = 0u; k < (${workgroupSize}u + ss - 1u) / ss; k++) { sum += scratch[(${input * rows}u + li) * ${workgroupSize}u + k]; }
      result${input} = sum;
    }`,
  )
  .join('\n')}
  }`;
  }
  return `
${slots.map(({ name, slot }) => `  scratch[${slot}u * ${workgroupSize}u + li] = ${name};`).join('\n')}
  workgroupBarrier();
  for (var stride = ${workgroupSize / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) {
${slots.map(({ slot }) => `      scratch[${slot}u * ${workgroupSize}u + li] += scratch[${slot}u * ${workgroupSize}u + li + stride];`).join('\n')}
    }
    workgroupBarrier();
  }
  if (li < ${rows}u) {
${inputs.map((input) => `    result${input} = scratch[(${input * rows}u + li) * ${workgroupSize}u];`).join('\n')}
  }`;
}

/**
 * The fused store of a kernel over `inputRows` input rows (`fusionStore` for each): invocation `li < rowsPerWorkgroup`
 * holds `result{b}` of output row `firstRow + li` for input row `firstInput + b`; rows past `params.slots` are not
 * stored. Outputs are `[rows, width]`: `params.outStride` wide, the split parts `boundary1`, `boundary2 − boundary1`
 * and `outRows − boundary2` wide, the gated output `boundary1` wide.
 */
export function inputRowsStore(fusion: MatvecFusion, shape: FusionStoreShape, inputRows: number): string {
  const { rowsPerWorkgroup, workgroupSize, subgroups, bias } = shape;
  const epilogue = fusion.epilogue;
  const inputs = Array.from({ length: inputRows }, (_, input) => input);
  const args = workgroupReduction(subgroups, workgroupSize).args;
  const norm = fusion.norm
    ? `${inputs.map((input) => `  let norm_inverse${input} = 1.0 / sqrt(reduce_sum(norm_squares${input}, ${args}) / f32(params.columns) + params.epsilon);`).join('\n')}\n`
    : '';
  const total = (input: number) => (fusion.norm ? `result${input} * norm_inverse${input}` : `result${input}`);
  const stored = (input: number) => `firstInput + ${input}u < params.slots`;
  if (epilogue.kind === 'gated') {
    const half = rowsPerWorkgroup / 2;
    const slot = (input: number) => `${input * rowsPerWorkgroup}u + li`;
    return `${norm}  if (li < ${rowsPerWorkgroup}u) {
${inputs.map((input) => `    gated_totals[${slot(input)}] = ${total(input)};`).join('\n')}
  }
  workgroupBarrier();
  let o = firstRow + li;
  if (li < ${half}u && o < params.boundary1) {
${inputs
  .map(
    (input) => `    if (${stored(input)}) {
      output[(firstInput + ${input}u) * params.boundary1 + o] = ${activationFunction(epilogue.activation)}(gated_totals[${slot(input)}]) * gated_totals[${slot(input)} + ${half}u];
    }`,
  )
  .join('\n')}
  }`;
  }
  const store = (input: number) => {
    const value = `${total(input)}${bias ? ' + extra[params.firstRow + o]' : ''}`;
    const inputRow = `firstInput + ${input}u`;
    if (epilogue.kind === 'store')
      return `      output[(${inputRow}) * params.outStride + params.firstRow + o] = ${value};`;
    if (epilogue.kind === 'residual') {
      return `      let index = (${inputRow}) * params.outStride + params.firstRow + o;
      output[index] = residual[index] + (${value});`;
    }
    const second =
      epilogue.parts === 2
        ? `{
        output1[(${inputRow}) * (params.outRows - params.boundary1) + row - params.boundary1] = value;
      }`
        : `if (row < params.boundary2) {
        output1[(${inputRow}) * (params.boundary2 - params.boundary1) + row - params.boundary1] = value;
      } else {
        output2[(${inputRow}) * (params.outRows - params.boundary2) + row - params.boundary2] = value;
      }`;
    return `      let row = params.firstRow + o;
      let value = ${value};
      if (row < params.boundary1) {
        output[(${inputRow}) * params.boundary1 + row] = value;
      } else ${second}`;
  };
  return `${norm}  let o = firstRow + li;
  if (li < ${rowsPerWorkgroup}u && o < params.chunkRows) {
${inputs.map((input) => `    if (${stored(input)}) {\n${store(input)}\n    }`).join('\n')}
  }`;
}
