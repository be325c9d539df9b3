// The mat-vec benchmark's harness on a raw device: kernels built straight from their WGSL, weights filled on the GPU,
// dispatches timed in batches and checked against the CPU.
import type { WeightType } from '@strata/core';
import { dequantize } from '@strata/kernels-cpu';
import {
  type MatvecTuning,
  type MatvecVariant,
  matvecUniforms,
  matvecWgsl,
} from '../src/kernels/matmul/matvec-shader.js';
import { type WideMatvecTuning, wideMatvecWgsl } from '../src/kernels/matmul/wide-matvec-shader.js';
import {
  type QuantMatvecTuning,
  quantMatvecKey,
  quantMatvecRowsPerWorkgroup,
  quantMatvecSupported,
  quantMatvecWgsl,
} from '../src/kernels/matmul/quant-matvec-shader.js';
import { DEFAULT_TILES, type TiledTuning, tiledUniforms, tiledWgsl } from '../src/kernels/matmul/tiled-shader.js';
import { rowByteLength, weightShader } from '../src/wgsl/dequantize/index.js';
import {
  computePipeline,
  type RawDevice,
  readBuffer,
  storageBuffer,
  uniformBuffer,
} from '../src/wgsl/dequantize/raw-device.js';
import { type Timing, timeDispatches } from './gpu-timer.js';
import { BATCH_BYTES, ROTATION_BYTES } from './bench-settings.js';

// Fill kernel: every byte 0x30 | random nibble, so f16/bf16/f32 fields are finite (≈ 2^-3 … 1) and quants vary.
const FILL_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<uniform> params: vec4<u32>;
fn hash(value: u32) -> u32 {
  var x = value * 747796405u + 2891336453u;
  x = ((x >> ((x >> 28u) + 4u)) ^ x) * 277803737u;
  return (x >> 22u) ^ x;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = id.x + id.y * groups.x * 256u;
  if (index >= params.x) { return; }
  data[index] = (hash(index ^ (params.y * 0x9e3779b9u)) & 0x0f0f0f0fu) | 0x30303030u;
}`;

/** Binding types of the mat-vec and tiled kernels: params, weights, input, bias/ids, output. */
const KERNEL_BINDINGS: readonly GPUBufferBindingType[] = [
  'uniform',
  'read-only-storage',
  'read-only-storage',
  'read-only-storage',
  'storage',
];

/** A kernel tuning the harness can build: row-group mat-vec, wide one-row mat-vec or quantized one-row mat-vec. */
export type Tuning = MatvecTuning | WideMatvecTuning | QuantMatvecTuning;

function isWide(tuning: Tuning): tuning is WideMatvecTuning {
  return 'unitsPerThread' in tuning;
}

function isRowGroup(tuning: Tuning): tuning is MatvecTuning {
  return 'threadsPerRow' in tuning;
}

/** A short name of a tuning for table headers. */
export function tuningName(tuning: Tuning): string {
  if (isWide(tuning)) return `wide wg${tuning.workgroupSize}/r${tuning.rowsPerWorkgroup}/k${tuning.unitsPerThread}`;
  if (isRowGroup(tuning)) return `wg${tuning.workgroupSize}/tpr${tuning.threadsPerRow}/u${tuning.unroll}`;
  return `quant ${JSON.stringify(tuning)}`;
}

function grid(groups: number): [number, number] {
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** Builds, fills, times and checks the weight kernels on one raw device, caching pipelines by key. */
export class Bench {
  private fill: GPUComputePipeline | undefined;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  constructor(readonly raw: RawDevice) {}

  get device(): GPUDevice {
    return this.raw.device;
  }

  get timestamps(): boolean {
    return this.raw.features.has('timestamp-query');
  }

  async pipeline(
    key: string,
    code: () => string,
    bindings?: readonly GPUBufferBindingType[],
  ): Promise<GPUComputePipeline> {
    let pipeline = this.pipelines.get(key);
    if (pipeline === undefined) {
      pipeline = await computePipeline(this.device, code(), key, bindings);
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** A buffer of `bytes` filled on the GPU with the fill pattern. */
  async filled(bytes: number, seed: number): Promise<GPUBuffer> {
    this.fill ??= await computePipeline(this.device, FILL_WGSL, 'fill');
    const words = Math.ceil(bytes / 4) + 1;
    const buffer = this.device.createBuffer({
      size: words * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const params = uniformBuffer(this.device, new Uint32Array([words, seed, 0, 0]).buffer);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.fill);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: this.fill.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer } },
          { binding: 1, resource: { buffer: params } },
        ],
      }),
    );
    pass.dispatchWorkgroups(...grid(Math.ceil(words / 256)));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    await this.device.queue.onSubmittedWorkDone();
    params.destroy();
    return buffer;
  }

  variant(type: WeightType, columns: number, inputRows: number, tuning: MatvecTuning): MatvecVariant {
    return {
      type,
      columns,
      inputRows,
      mode: 'matmul',
      bias: false,
      subgroups: this.raw.features.has('subgroups'),
      tuning,
    };
  }

  /** The pipeline and output rows per workgroup of a mat-vec kernel (wide tuning: the one-row kernel). */
  async kernel(
    type: WeightType,
    columns: number,
    inputRows: number,
    tuning: Tuning,
  ): Promise<{ pipeline: GPUComputePipeline; rowsPerGroup: number }> {
    if (!isWide(tuning) && !isRowGroup(tuning)) {
      if (!quantMatvecSupported(type, columns)) throw new Error(`no quantized kernel for ${type} × ${columns}`);
      const variant = { type, columns, bias: false, subgroups: this.raw.features.has('subgroups'), tuning };
      const pipeline = await this.pipeline(quantMatvecKey(variant), () => quantMatvecWgsl(variant), KERNEL_BINDINGS);
      return { pipeline, rowsPerGroup: quantMatvecRowsPerWorkgroup(variant) };
    }
    if (isWide(tuning)) {
      const variant = { type, columns, bias: false, subgroups: this.raw.features.has('subgroups'), tuning };
      const pipeline = await this.pipeline(
        `wide:${JSON.stringify(variant)}`,
        () => wideMatvecWgsl(variant),
        KERNEL_BINDINGS,
      );
      return { pipeline, rowsPerGroup: tuning.rowsPerWorkgroup };
    }
    const variant = this.variant(type, columns, inputRows, tuning);
    const pipeline = await this.pipeline(JSON.stringify(variant), () => matvecWgsl(variant), KERNEL_BINDINGS);
    return { pipeline, rowsPerGroup: tuning.workgroupSize / tuning.threadsPerRow };
  }

  /** The uniform buffer of a one-chunk mat-vec of `[out, columns]` weights of `type` over `rows` input rows. */
  private matvecParams(type: WeightType, out: number, columns: number, rows: number): GPUBuffer {
    return uniformBuffer(
      this.device,
      matvecUniforms({
        columns,
        rowBytes: rowByteLength(type, columns),
        units: Math.ceil(columns / weightShader(type).unitColumns),
        chunkRows: out,
        firstRow: 0,
        outStride: out,
        outRows: out,
        topK: 1,
        slots: rows,
        slotOffset: 0,
        perSlotInput: 0,
      }).buffer as ArrayBuffer,
    );
  }

  /** A mat-vec kernel's bind group of `buffers`: params, weights, input, bias, output (bindings 0…4). */
  private matvecBindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /**
   * Seconds per mat-vec of `[out, columns]` weights of `type` with `inputRows` rows, rotating over weight copies;
   * `productRows` (default `inputRows`) runs the multi-row kernel over that many rows in row groups of `inputRows`.
   */
  async matvec(
    type: WeightType,
    out: number,
    columns: number,
    inputRows: number,
    tuning: Tuning,
    productRows = inputRows,
  ): Promise<{ bytes: number; timing: Timing }> {
    const { pipeline, rowsPerGroup } = await this.kernel(type, columns, inputRows, tuning);
    const rowBytes = rowByteLength(type, columns);
    const bytes = rowBytes * out;
    const copies = Math.max(1, Math.min(128, Math.ceil(ROTATION_BYTES / bytes)));
    const weights: GPUBuffer[] = [];
    for (let copy = 0; copy < copies; copy++) weights.push(await this.filled(bytes, copy + 1));
    const input = await this.filled(productRows * columns * 4, 99);
    const output = storageBuffer(this.device, productRows * out * 4);
    const empty = storageBuffer(this.device, 16);
    const params = this.matvecParams(type, out, columns, productRows);
    const groups = [...grid(Math.ceil(out / rowsPerGroup)), Math.ceil(productRows / inputRows)] as const;
    const bindGroups = weights.map((buffer) => this.matvecBindGroup(pipeline, [params, buffer, input, empty, output]));
    const count = Math.max(copies, Math.min(2000, Math.ceil(BATCH_BYTES / bytes)));
    const timing = await timeDispatches(this.device, this.timestamps, count, (pass, index) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroups[index % copies]!);
      pass.dispatchWorkgroups(...groups);
    });
    for (const buffer of [...weights, input, output, empty, params]) buffer.destroy();
    return { bytes, timing };
  }

  /** Checks a mat-vec against the CPU (dequantize + float64 dot) on host-made bytes; returns the worst relative error. */
  async check(type: WeightType, out: number, columns: number, inputRows: number, tuning: Tuning): Promise<number> {
    const { pipeline, rowsPerGroup } = await this.kernel(type, columns, inputRows, tuning);
    const rowBytes = rowByteLength(type, columns);
    const bytes = new Uint8Array(rowBytes * out);
    let state = 12345;
    for (let index = 0; index < bytes.length; index++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      bytes[index] = 0x30 | ((state >>> 16) & 15);
    }
    const inputValues = Float32Array.from({ length: inputRows * columns }, (_, index) => Math.sin(index * 0.37));
    const weights = storageBuffer(this.device, bytes);
    const input = storageBuffer(this.device, inputValues);
    const output = storageBuffer(this.device, inputRows * out * 4);
    const empty = storageBuffer(this.device, 16);
    const params = this.matvecParams(type, out, columns, inputRows);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.matvecBindGroup(pipeline, [params, weights, input, empty, output]));
    pass.dispatchWorkgroups(...grid(Math.ceil(out / rowsPerGroup)));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const actual = new Float32Array(await readBuffer(this.device, output, inputRows * out * 4));
    const values = dequantize(type, bytes, out * columns);
    let worst = 0;
    for (let r = 0; r < inputRows; r++) {
      for (let o = 0; o < out; o++) {
        let sum = 0;
        let size = 0;
        for (let c = 0; c < columns; c++) {
          const product = inputValues[r * columns + c]! * values[o * columns + c]!;
          sum += product;
          size += Math.abs(product);
        }
        worst = Math.max(worst, Math.abs(actual[r * out + o]! - sum) / (size + 1e-30));
      }
    }
    for (const buffer of [weights, input, output, empty, params]) buffer.destroy();
    return worst;
  }

  /** Seconds per tiled mat-mul of `rows` input rows. */
  async tiled(
    type: WeightType,
    out: number,
    columns: number,
    rows: number,
    tuning: TiledTuning = DEFAULT_TILES,
  ): Promise<Timing> {
    const pipeline = await this.pipeline(
      `tiled:${type}:${columns}:${JSON.stringify(tuning)}`,
      () => tiledWgsl({ type, columns, bias: false, tuning }),
      KERNEL_BINDINGS,
    );
    const rowBytes = rowByteLength(type, columns);
    const weights = await this.filled(rowBytes * out, 5);
    const input = await this.filled(rows * columns * 4, 6);
    const output = storageBuffer(this.device, rows * out * 4);
    const empty = storageBuffer(this.device, 16);
    const params = uniformBuffer(
      this.device,
      tiledUniforms(columns, rowBytes, rows, out, 0, out).buffer as ArrayBuffer,
    );
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: weights } },
        { binding: 2, resource: { buffer: input } },
        { binding: 3, resource: { buffer: empty } },
        { binding: 4, resource: { buffer: output } },
      ],
    });
    const timing = await timeDispatches(this.device, this.timestamps, 10, (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(Math.ceil(out / tuning.out), Math.ceil(rows / tuning.rows));
    });
    for (const buffer of [weights, input, output, empty, params]) buffer.destroy();
    return timing;
  }

  /** Read bandwidth of a plain kernel streaming `bytes` (vec4 or scalar u32 loads, grid-stride). */
  async rawRead(bytes: number, vector: boolean): Promise<Timing> {
    const element = vector ? 'vec4<u32>' : 'u32';
    const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> data: array<${element}>;
@group(0) @binding(1) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * 256u;
  var acc = ${element}(0u);
  for (var index = id.x; index < arrayLength(&data); index += stride) { acc ^= data[index]; }
  ${vector ? 'let total = acc.x ^ acc.y ^ acc.z ^ acc.w;' : 'let total = acc;'}
  if (total == 0x12345678u) { sink[0] = total; }
}`;
    const pipeline = await this.pipeline(`raw:${vector}`, () => code);
    const data = await this.filled(bytes, 9);
    const sink = storageBuffer(this.device, 16);
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: data } },
        { binding: 1, resource: { buffer: sink } },
      ],
    });
    const timing = await timeDispatches(this.device, this.timestamps, 20, (pass) => {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(132 * 16);
    });
    data.destroy();
    sink.destroy();
    return timing;
  }
}
