// The WebGPU weight-kernel benchmark: mat-vec bandwidth per weight type and shape (bytes of weights read per second),
// a tuning sweep, several input rows, the tiled prefill mat-mul, raw read ceilings and attention decode time.
// Run: `pnpm bench` in packages/kernels-webgpu (tsx), or bundled for the GPU machine (see BENCHMARKS.md).
import { WEIGHT_TYPES, type WeightType } from '@strata/core';
import { dequantize } from '@strata/kernels-cpu';
import {
  DEFAULT_MATVEC_TUNING,
  type MatvecTuning,
  type MatvecVariant,
  matvecUniforms,
  matvecWgsl,
} from '../src/kernels/matmul/matvec-shader.js';
import {
  DEFAULT_WIDE_TUNING,
  type WideMatvecTuning,
  wideMatvecWgsl,
} from '../src/kernels/matmul/wide-matvec-shader.js';
import {
  type QuantMatvecTuning,
  quantMatvecKey,
  quantMatvecRowsPerWorkgroup,
  quantMatvecSupported,
  quantMatvecWgsl,
} from '../src/kernels/matmul/quant-matvec-shader.js';
import {
  DEFAULT_TILES,
  LARGE_TILES,
  SMALL_TILES,
  type TiledTuning,
  tiledUniforms,
  tiledWgsl,
} from '../src/kernels/matmul/tiled-shader.js';
import { createWebGpuBackend } from '../src/webgpu-backend.js';
import { rowByteLength, weightShader } from '../src/wgsl/dequantize/index.js';
import {
  computePipeline,
  openRawDevice,
  type RawDevice,
  readBuffer,
  storageBuffer,
  uniformBuffer,
} from '../src/wgsl/dequantize/raw-device.js';
import { type Timing, timeDispatches } from './gpu-timer.js';
import { QUANT_VARIANTS, type QuantType, quantVariantName } from './quant-variants.js';

const QUICK = process.argv.includes('--quick');
/**
 * `--quant`: only the Q4_K/Q6_K/Q8_0 one-row kernels: every variant of `quant-variants.ts` checked against the CPU,
 * then timed beside the wide kernel (first and last), one table per type.
 */
const QUANT_ONLY = process.argv.includes('--quant');
/** `--tiled`: only the prefill mat-mul, every tiling on the 1B and 8B shapes (correctness first). */
const TILED_ONLY = process.argv.includes('--tiled');
const TILINGS: TiledTuning[] = [
  SMALL_TILES,
  LARGE_TILES,
  { rows: 64, out: 128, threadRows: 4, threadOut: 8, depth: 16 },
  { rows: 128, out: 64, threadRows: 8, threadOut: 4, depth: 16 },
];
const BUDGET_SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? 420);
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const overBudget = () => elapsed() > BUDGET_SECONDS;

const SHAPES: readonly [number, number][] = QUICK
  ? [
      [256, 1024],
      [512, 2048],
    ]
  : [
      [4096, 4096],
      [14336, 4096],
      [4096, 14336],
      [128256, 4096],
    ];
/** Bytes of distinct weight copies rotated through, so the L2 cache (60 MB on an H200) cannot serve them. */
const ROTATION_BYTES = QUICK ? 64 << 20 : 1 << 30;
/** Bytes of weights read per timed batch. */
const BATCH_BYTES = QUICK ? 256 << 20 : 16e9;

function log(line = ''): void {
  console.log(line);
}

function seconds(timing: Timing): number {
  return timing.gpuSeconds ?? timing.wallSeconds;
}

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

type Tuning = MatvecTuning | WideMatvecTuning | QuantMatvecTuning;

function isWide(tuning: Tuning): tuning is WideMatvecTuning {
  return 'unitsPerThread' in tuning;
}

function isRowGroup(tuning: Tuning): tuning is MatvecTuning {
  return 'threadsPerRow' in tuning;
}

function tuningName(tuning: Tuning): string {
  if (isWide(tuning)) return `wide wg${tuning.workgroupSize}/r${tuning.rowsPerWorkgroup}/k${tuning.unitsPerThread}`;
  if (isRowGroup(tuning)) return `wg${tuning.workgroupSize}/tpr${tuning.threadsPerRow}/u${tuning.unroll}`;
  return `quant ${JSON.stringify(tuning)}`;
}

function grid(groups: number): [number, number] {
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

class Bench {
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

  /** Seconds per mat-vec of `[out, columns]` weights of `type` with `inputRows` rows, rotating over weight copies. */
  async matvec(
    type: WeightType,
    out: number,
    columns: number,
    inputRows: number,
    tuning: Tuning,
  ): Promise<{ bytes: number; timing: Timing }> {
    const { pipeline, rowsPerGroup } = await this.kernel(type, columns, inputRows, tuning);
    const rowBytes = rowByteLength(type, columns);
    const bytes = rowBytes * out;
    const copies = Math.max(1, Math.min(128, Math.ceil(ROTATION_BYTES / bytes)));
    const weights: GPUBuffer[] = [];
    for (let copy = 0; copy < copies; copy++) weights.push(await this.filled(bytes, copy + 1));
    const input = await this.filled(inputRows * columns * 4, 99);
    const output = storageBuffer(this.device, inputRows * out * 4);
    const empty = storageBuffer(this.device, 16);
    const units = Math.ceil(columns / weightShader(type).unitColumns);
    const params = uniformBuffer(
      this.device,
      matvecUniforms({
        columns,
        rowBytes,
        units,
        chunkRows: out,
        firstRow: 0,
        outStride: out,
        outRows: out,
        topK: 1,
        slots: 0,
        slotOffset: 0,
        perSlotInput: 0,
      }).buffer as ArrayBuffer,
    );
    const groups = grid(Math.ceil(out / rowsPerGroup));
    const bindGroups = weights.map((buffer) =>
      this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: params } },
          { binding: 1, resource: { buffer } },
          { binding: 2, resource: { buffer: input } },
          { binding: 3, resource: { buffer: empty } },
          { binding: 4, resource: { buffer: output } },
        ],
      }),
    );
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
    const units = Math.ceil(columns / weightShader(type).unitColumns);
    const params = uniformBuffer(
      this.device,
      matvecUniforms({
        columns,
        rowBytes,
        units,
        chunkRows: out,
        firstRow: 0,
        outStride: out,
        outRows: out,
        topK: 1,
        slots: 0,
        slotOffset: 0,
        perSlotInput: 0,
      }).buffer as ArrayBuffer,
    );
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: params } },
          { binding: 1, resource: { buffer: weights } },
          { binding: 2, resource: { buffer: input } },
          { binding: 3, resource: { buffer: empty } },
          { binding: 4, resource: { buffer: output } },
        ],
      }),
    );
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

function gbps(bytes: number, timing: Timing): string {
  return (bytes / seconds(timing) / 1e9).toFixed(0);
}

async function attentionDecode(): Promise<void> {
  const backend = await createWebGpuBackend({ powerPreference: 'high-performance' });
  try {
    const heads = 32;
    const keyValueHeads = 8;
    const headDimensions = 128;
    log(
      '\n## Attention decode (1 query row, 32 heads, 8 KV heads, head size 128, f32 cache), one submit of 50 calls, wall time',
    );
    log('| context | µs per call | KV bytes read per call | effective GB/s |');
    log('|---:|---:|---:|---:|');
    for (const context of QUICK ? [512, 2048] : [512, 1024, 2048, 4096, 8192, 16384, 32768]) {
      if (overBudget()) break;
      const keys = backend.zeros([context, keyValueHeads * headDimensions]);
      const values = backend.zeros([context, keyValueHeads * headDimensions]);
      const queries = backend.upload(
        Float32Array.from({ length: heads * headDimensions }, (_, i) => Math.sin(i)),
        [1, heads * headDimensions],
      );
      const options = {
        heads,
        keyValueHeads,
        headDimensions,
        firstPosition: context - 1,
        scale: 1 / Math.sqrt(headDimensions),
      };
      const cache = { keys, values };
      await backend.read(backend.attention(queries, cache, options));
      const calls = 50;
      const start = performance.now();
      for (let call = 0; call < calls; call++) backend.dispose(backend.attention(queries, cache, options));
      await backend.flush();
      const perCall = (performance.now() - start) / 1000 / calls;
      const kvBytes = 2 * context * keyValueHeads * headDimensions * 4;
      log(
        `| ${context} | ${(perCall * 1e6).toFixed(1)} | ${(kvBytes / 1e6).toFixed(1)} MB | ${(kvBytes / perCall / 1e9).toFixed(0)} |`,
      );
      backend.dispose(keys);
      backend.dispose(values);
      backend.dispose(queries);
    }
  } catch (error) {
    log(`attention benchmark failed: ${String(error)}`);
  } finally {
    backend.destroy();
  }
}

async function tiledSection(bench: Bench): Promise<void> {
  const rows = QUICK ? 64 : 512;
  const shapes = QUICK
    ? [
        [256, 1024],
        [512, 256],
      ]
    : [
        [2048, 2048],
        [8192, 2048],
        [4096, 4096],
        [14336, 4096],
        [4096, 14336],
      ];
  const label = (tuning: TiledTuning) =>
    `${tuning.rows}×${tuning.out} ${tuning.threadRows}×${tuning.threadOut} k${tuning.depth}`;
  log(`\n## Tiled mat-mul tilings, ${rows} input rows: TFLOP/s`);
  log(`| type | out×columns | ${TILINGS.map(label).join(' | ')} |`);
  log(`|---|---|${TILINGS.map(() => '---:').join('|')}|`);
  for (const type of ['Q4_K', 'Q6_K', 'F16'] as const) {
    for (const [out, columns] of shapes) {
      const cells: string[] = [];
      for (const tuning of TILINGS) {
        const timing = await bench.tiled(type, out!, columns!, rows, tuning);
        cells.push(((2 * rows * out! * columns!) / seconds(timing) / 1e12).toFixed(2));
      }
      log(`| ${type} | ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }
}

const QUANT_TYPES: readonly QuantType[] = ['Q4_K', 'Q6_K', 'Q8_0'];

async function quantSection(bench: Bench): Promise<void> {
  log('\n## Quantized one-row kernels: correctness (100 rows; worst error / Σ|x·w|; * = routed)');
  const failures: string[] = [];
  for (const type of QUANT_TYPES) {
    for (const tuning of QUANT_VARIANTS[type]) {
      const errors: string[] = [];
      for (const columns of QUICK ? [512, 1536] : [4096, 14336, 512, 1536]) {
        const error = await bench.check(type, 100, columns, 1, tuning);
        errors.push(`${columns}: ${error.toExponential(1)}`);
        if (!(error < 1e-5)) failures.push(`${type} ${columns} ${quantVariantName(type, tuning)}: ${error}`);
      }
      log(`- ${type} ${quantVariantName(type, tuning)}: ${errors.join(', ')}`);
    }
  }
  log(failures.length === 0 ? 'all correct (< 1e-5)' : `FAILURES: ${failures.join('; ')}`);
  const warmUntil = performance.now() + (QUICK ? 200 : 8000);
  while (performance.now() < warmUntil) await bench.matvec('F16', 14336, 4096, 1, DEFAULT_WIDE_TUNING);
  log('\n## Quantized one-row kernels: GB/s of weights (µs per call), wide kernel first and last; * = routed');
  log('Names: layout, rows per workgroup, workgroup size, conversion when not the default (quant-variants.ts).');
  for (const type of QUANT_TYPES) {
    const variants = QUANT_VARIANTS[type];
    const names = ['wide (first)', ...variants.map((tuning) => quantVariantName(type, tuning)), 'wide (last)'];
    log(`\n### ${type}`);
    log(`| shape | ${names.join(' | ')} |`);
    log(`|---|${names.map(() => '---:').join('|')}|`);
    for (const [out, columns] of SHAPES) {
      if (overBudget()) {
        log('(time budget reached)');
        break;
      }
      const cells: string[] = [];
      for (const tuning of [DEFAULT_WIDE_TUNING, ...variants, DEFAULT_WIDE_TUNING]) {
        const { bytes, timing } = await bench.matvec(type, out, columns, 1, tuning);
        cells.push(`${gbps(bytes, timing)} (${(seconds(timing) * 1e6).toFixed(1)})`);
      }
      log(`| ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }
}

async function main(): Promise<void> {
  // DAWN_FLAGS (';'-separated) adds instance flags, e.g. 'enable-dawn-features=disable_robustness'.
  const extraFlags = (process.env.DAWN_FLAGS ?? '').split(';').filter((flag) => flag !== '');
  const raw = await openRawDevice(['disable-dawn-features=timestamp_quantization', ...extraFlags]);
  if (raw === undefined) throw new Error('no WebGPU adapter');
  const bench = new Bench(raw);
  let deviceErrors = 0;
  raw.device.onuncapturederror = (event) => {
    if (deviceErrors++ < 3) log(`GPU ERROR: ${(event as GPUUncapturedErrorEvent).error.message}`);
  };
  const limits = raw.device.limits;
  log(`# strata WebGPU weight kernels benchmark${QUICK ? ' (quick)' : ''}`);
  log(
    `features: ${[...raw.features].join(', ') || 'none'}; subgroup sizes: ${JSON.stringify(raw.subgroupSizes)}; maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}; timing: ${bench.timestamps ? 'timestamp queries' : 'wall time'}`,
  );
  log(`default tunings: one row ${tuningName(DEFAULT_WIDE_TUNING)}; 2-8 rows ${tuningName(DEFAULT_MATVEC_TUNING)}`);

  log('\n## Raw read ceiling (1 GiB, grid-stride XOR reduction)');
  for (const vector of [true, false]) {
    const bytes = QUICK ? 64 << 20 : 1 << 30;
    const timing = await bench.rawRead(bytes, vector);
    log(
      `- ${vector ? 'vec4<u32>' : 'u32'} loads: ${gbps(bytes, timing)} GB/s (wall ${(bytes / timing.wallSeconds / 1e9).toFixed(0)})`,
    );
  }

  if (TILED_ONLY) {
    await tiledSection(bench);
    raw.device.destroy();
    return;
  }
  if (QUANT_ONLY) {
    await quantSection(bench);
    raw.device.destroy();
    log(`\ntotal ${elapsed().toFixed(0)} s`);
    return;
  }
  log(
    '\n## Correctness on this GPU (mat-vec vs CPU dequantize + float64, 100 × 4096, 1 and 3 rows; worst error / Σ|x·w|)',
  );
  const checkTunings: MatvecTuning[] = [
    DEFAULT_MATVEC_TUNING,
    { workgroupSize: 256, threadsPerRow: 16, unroll: 1 },
    { workgroupSize: 256, threadsPerRow: 64, unroll: 4 },
  ];
  const failures: string[] = [];
  for (const type of WEIGHT_TYPES) {
    const errors: string[] = [];
    for (const tuning of checkTunings) {
      for (const rows of 'rowsPerWorkgroup' in tuning ? [1] : [1, 3]) {
        const error = await bench.check(type, 100, QUICK ? 512 : 4096, rows, tuning);
        errors.push(error.toExponential(1));
        if (!(error < 1e-5)) failures.push(`${type} ${tuningName(tuning)} rows=${rows}: ${error}`);
      }
    }
    log(`- ${type}: ${errors.join(' ')}`);
  }
  log(failures.length === 0 ? 'all correct (< 1e-5)' : `FAILURES: ${failures.join('; ')}`);

  // SM clocks drop while the GPU idles (during the CPU-side checks above): keep it busy for a few seconds first.
  const warmUntil = performance.now() + (QUICK ? 200 : 4000);
  while (performance.now() < warmUntil) await bench.matvec('F16', 14336, 4096, 1, DEFAULT_WIDE_TUNING);

  log('\n## Tuning sweep (GB/s of weights, 1 input row; after a 4 s warm-up)');
  const sweepTypes: WeightType[] = ['Q4_K', 'Q8_0', 'F16', 'Q6_K', 'Q4_0', 'Q5_K'];
  const tunings: Tuning[] = [{ workgroupSize: 256, threadsPerRow: 32, unroll: 2 }];
  for (const rowsPerWorkgroup of [4, 8, 16]) {
    for (const unitsPerThread of [1, 2]) tunings.push({ workgroupSize: 256, rowsPerWorkgroup, unitsPerThread });
  }
  tunings.push({ workgroupSize: 128, rowsPerWorkgroup: 8, unitsPerThread: 2 });
  tunings.push({ workgroupSize: 512, rowsPerWorkgroup: 8, unitsPerThread: 1 });
  const sweepShapes: [number, number][] = QUICK
    ? [[512, 2048]]
    : [
        [14336, 4096],
        [4096, 14336],
      ];
  log(`| type | shape | ${tunings.map(tuningName).join(' | ')} |`);
  log(`|---|---|${tunings.map(() => '---:').join('|')}|`);
  for (const type of sweepTypes) {
    for (const [out, columns] of sweepShapes) {
      if (overBudget()) break;
      const cells: string[] = [];
      for (const tuning of tunings) {
        const { bytes, timing } = await bench.matvec(type, out, columns, 1, tuning);
        cells.push(gbps(bytes, timing));
      }
      log(`| ${type} | ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }

  log(
    `\n## Mat-vec, every weight type (1 input row, ${tuningName(DEFAULT_WIDE_TUNING)}): GB/s of weights read (µs per call)`,
  );
  log(`| type | ${SHAPES.map(([out, columns]) => `${out}×${columns}`).join(' | ')} |`);
  log(`|---|${SHAPES.map(() => '---:').join('|')}|`);
  for (const type of WEIGHT_TYPES) {
    if (overBudget()) {
      log('(time budget reached)');
      break;
    }
    const cells: string[] = [];
    for (const [out, columns] of SHAPES) {
      const { bytes, timing } = await bench.matvec(type, out, columns, 1, DEFAULT_WIDE_TUNING);
      cells.push(`${gbps(bytes, timing)} (${(seconds(timing) * 1e6).toFixed(1)})`);
    }
    log(`| ${type} | ${cells.join(' | ')} |`);
  }

  log(
    '\n## Several input rows (14336×4096; 1 row: wide kernel, more: per-row-group kernel): GB/s of weights (µs per call)',
  );
  log('| type | 1 | 2 | 4 | 8 |');
  log('|---|---:|---:|---:|---:|');
  for (const type of ['Q4_K', 'Q8_0', 'F16'] as const) {
    if (overBudget()) break;
    const cells: string[] = [];
    for (const rows of [1, 2, 4, 8]) {
      const [out, columns] = QUICK ? [512, 2048] : [14336, 4096];
      const { bytes, timing } = await bench.matvec(
        type,
        out,
        columns,
        rows,
        rows === 1 ? DEFAULT_WIDE_TUNING : DEFAULT_MATVEC_TUNING,
      );
      cells.push(`${gbps(bytes, timing)} (${(seconds(timing) * 1e6).toFixed(1)})`);
    }
    log(`| ${type} | ${cells.join(' | ')} |`);
  }

  log('\n## Tiled mat-mul (prefill, 512 input rows): TFLOP/s (ms per call)');
  log('| type | 4096×4096 | 14336×4096 |');
  log('|---|---:|---:|');
  for (const type of ['Q4_K', 'Q8_0', 'F16', 'F32'] as const) {
    if (overBudget()) break;
    const cells: string[] = [];
    for (const [out, columns] of QUICK
      ? [
          [256, 1024],
          [512, 1024],
        ]
      : [
          [4096, 4096],
          [14336, 4096],
        ]) {
      const rows = QUICK ? 64 : 512;
      const timing = await bench.tiled(type, out!, columns!, rows);
      cells.push(
        `${((2 * rows * out! * columns!) / seconds(timing) / 1e12).toFixed(2)} (${(seconds(timing) * 1e3).toFixed(2)})`,
      );
    }
    log(`| ${type} | ${cells.join(' | ')} |`);
  }

  if (deviceErrors > 0) log(`\n${deviceErrors} GPU errors: the figures above are not valid`);
  raw.device.destroy();
  await attentionDecode();
  log(`\ntotal ${elapsed().toFixed(0)} s`);
}

await main();
process.exit(0);
