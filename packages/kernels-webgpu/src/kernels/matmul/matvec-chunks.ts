import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, type ShaderSpec } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { type FusionParams, fusionUniforms, type MatvecFusion } from './matvec-fusion.js';
import { matvecUniforms } from './matvec-shader.js';

// How every mat-vec kernel (one row, several rows, fused or not) is recorded: one dispatch per weight chunk.

/** A mat-vec kernel as {@link matvecChunks} records it: its shader, units per weight row and output rows per workgroup. */
export interface MatvecKernel {
  /** The shader (storage: the mat-vec's four bindings, then the fusion's). */
  readonly shader: ShaderSpec;
  /** The `units` uniform. */
  readonly units: number;
  /** Output rows one workgroup computes. */
  readonly rowsPerWorkgroup: number;
  /**
   * The multi-row kernel only: input rows of the product (the `slots` uniform) and row groups (workgroup z); one
   * group when absent.
   */
  readonly inputRows?: { readonly rows: number; readonly groups: number };
}

/** What a fused kernel adds to the dispatches of {@link matvecChunks} (`fused-matvec.ts`). */
export interface MatvecChunkFusion {
  /** The fusion the kernel was built with: its uniforms follow the plain ones ({@link fusionUniforms}). */
  readonly fusion: MatvecFusion;
  /** The values of those uniforms. */
  readonly params: FusionParams;
  /** The fusion's bindings after the four of the mat-vec, in `matvec-fusion.ts` order. */
  readonly buffers: readonly BufferBinding[];
}

/**
 * Records a mat-vec `kernel` (the three take the same uniforms and bindings) once per chunk of `weight`: bindings
 * weights (the chunk), input, bias (or an empty buffer), `output` `[rows, out]`, then `fused.buffers`;
 * `ceil(chunk rows / rowsPerWorkgroup)` workgroups. Returns `output`.
 */
export function matvecChunks(
  runtime: GpuRuntime,
  kernel: MatvecKernel,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  fused?: MatvecChunkFusion,
): GpuTensor {
  const { weight, input, bias, output } = tensors;
  const [out, columns] = weight.shape as [number, number];
  const biasBinding = { tracked: bias === undefined ? runtime.emptyBuffer : bias.chunks[0]!.tracked };
  for (const chunk of weight.chunks) {
    const words = matvecUniforms({
      columns,
      rowBytes: weight.rowBytes,
      units: kernel.units,
      chunkRows: chunk.rows,
      firstRow: chunk.firstRow,
      outStride: out,
      outRows: out,
      topK: 1,
      slots: kernel.inputRows?.rows ?? 0,
      slotOffset: 0,
      perSlotInput: 0,
    });
    runtime.dispatch({
      shader: kernel.shader,
      uniforms: fused === undefined ? words : fusionUniforms(fused.fusion, words, fused.params),
      buffers: [
        { tracked: chunk.tracked },
        { tracked: input.tracked },
        biasBinding,
        { tracked: output.tracked },
        ...(fused?.buffers ?? []),
      ],
      workgroups: [...linearGrid(Math.ceil(chunk.rows / kernel.rowsPerWorkgroup)), kernel.inputRows?.groups ?? 1],
    });
  }
  return output;
}
