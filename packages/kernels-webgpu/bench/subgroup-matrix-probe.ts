// Probe of subgroup matrices (Dawn's chromium-experimental-subgroup-matrix, Vulkan cooperative matrices) for the
// prefill mat-mul: an 8-bit integer GEMM C = A · Bᵀ (A activations [rows × depth], B weights [cols × depth], i32/u32
// out) in several variants. Each is checked bit-exactly against a CPU GEMM, then timed on prefill shapes (TOPS =
// 2·rows·cols·depth / s); then timed again on a device with Dawn's robustness off. Every failure is printed and the
// run moves on. Not wired into the backend.
//
//   bash packages/pipeline/bench/device/bundle.sh   (packs subgroup-matrix-probe.mjs)
//   device run, carry [".device-pack"]:  source .device-pack/setup.sh && node .device-pack/subgroup-matrix-probe.mjs
//
// Env: DAWN_FLAGS (';'-separated extra Dawn flags), PROBE_WGSL_DIR (write each variant's WGSL there, e.g. $OUT),
// BENCH_BUDGET_SECONDS (default 480). Without the feature (e.g. lavapipe) it says so and exits 0.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBuffer, storageBuffer } from '../src/wgsl/dequantize/raw-device.js';
import { timeDispatches } from './gpu-timer.js';
import {
  compileProbePipeline,
  openProbeDevice,
  type ProbeDevice,
  scoped,
  withTimeout,
} from './subgroup-matrix-device.js';
import {
  type GemmShape,
  type GemmTiling,
  type IntegerMatrixConfig,
  integerGemmWgsl,
  tilingName,
  unsupportedReason,
  workgroupTile,
} from './subgroup-matrix-gemm-shader.js';

type OpenDevice = Extract<ProbeDevice, { kind: 'device' }>;

const BUDGET_SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? 480);
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const WGSL_DIR = process.env.PROBE_WGSL_DIR;
const EXTRA_FLAGS = (process.env.DAWN_FLAGS ?? '').split(';').filter((flag) => flag !== '');
const BASE_FLAGS = ['disable-dawn-features=timestamp_quantization', ...EXTRA_FLAGS];
const CHECK_SHAPE: GemmShape = { rows: 128, cols: 256, depth: 512 };
const SHAPES: readonly GemmShape[] = [
  { rows: 512, cols: 2048, depth: 2048 },
  { rows: 512, cols: 8192, depth: 2048 },
  { rows: 512, cols: 14336, depth: 4096 },
  { rows: 512, cols: 4096, depth: 14336 },
];
/** Weight bytes rotated through per timing, so the 50 MB L2 cannot hold them all. */
const ROTATION_BYTES = 256 << 20;

function log(line = ''): void {
  console.log(line);
}

/** The variants, simplest first: direct loads from storage (both spellings), then workgroup-memory staging. */
function tilings(): GemmTiling[] {
  const direct = { staging: 'direct', depthStep: 0, prefetch: false } as const;
  const shared = { staging: 'shared', syntax: 'templated' } as const;
  return [
    { ...direct, subgroupRows: 2, subgroupCols: 2, matrixRows: 2, matrixCols: 2, syntax: 'templated' },
    { ...direct, subgroupRows: 2, subgroupCols: 2, matrixRows: 2, matrixCols: 2, syntax: 'legacy' },
    { ...direct, subgroupRows: 2, subgroupCols: 2, matrixRows: 4, matrixCols: 2, syntax: 'templated' },
    { ...shared, subgroupRows: 2, subgroupCols: 4, matrixRows: 4, matrixCols: 2, depthStep: 64, prefetch: false },
    { ...shared, subgroupRows: 2, subgroupCols: 4, matrixRows: 4, matrixCols: 2, depthStep: 64, prefetch: true },
    { ...shared, subgroupRows: 2, subgroupCols: 2, matrixRows: 4, matrixCols: 4, depthStep: 64, prefetch: true },
    // 128 × 64 tile: a 128-byte step of a 128 × 128 tile would need 36 KiB of workgroup memory (the default cap is 32).
    { ...shared, subgroupRows: 2, subgroupCols: 2, matrixRows: 4, matrixCols: 2, depthStep: 128, prefetch: true },
  ];
}

/** Deterministic 8-bit values over the whole range of the component type. */
function randomBytes(count: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

/** C[r][c] = Σ_k A[r][k] · B[c][k] on the CPU, exact (every partial sum stays below 2^53). */
function referenceGemm(config: IntegerMatrixConfig, shape: GemmShape, a: Uint8Array, b: Uint8Array): Float64Array {
  const signed = config.componentType === 'i8';
  const left = signed ? new Int8Array(a.buffer, a.byteOffset, a.length) : a;
  const right = signed ? new Int8Array(b.buffer, b.byteOffset, b.length) : b;
  const out = new Float64Array(shape.rows * shape.cols);
  for (let row = 0; row < shape.rows; row++) {
    for (let col = 0; col < shape.cols; col++) {
      let sum = 0;
      for (let k = 0; k < shape.depth; k++) sum += left[row * shape.depth + k]! * right[col * shape.depth + k]!;
      out[row * shape.cols + col] = sum;
    }
  }
  return out;
}

function bindGroup(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

function dispatchSize(config: IntegerMatrixConfig, tiling: GemmTiling, shape: GemmShape, subgroupSize: number) {
  const tile = workgroupTile(config, tiling, subgroupSize);
  return [shape.cols / tile.cols, shape.rows / tile.rows] as const;
}

async function pipelineFor(probe: OpenDevice, tiling: GemmTiling, shape: GemmShape, name: string) {
  const code = integerGemmWgsl(probe.config, tiling, shape, probe.subgroupSize);
  if (WGSL_DIR !== undefined) {
    mkdirSync(WGSL_DIR, { recursive: true });
    const file = `${name}-${shape.rows}x${shape.cols}x${shape.depth}.wgsl`.replace(/[^\w.-]+/g, '_');
    writeFileSync(join(WGSL_DIR, file), code);
  }
  return compileProbePipeline(probe.device, code, name, log);
}

/** Runs one variant on the check shape, prints its errors against the CPU, and says whether it is exact. */
async function check(probe: OpenDevice, tiling: GemmTiling, name: string): Promise<boolean> {
  const { device, config } = probe;
  const shape = CHECK_SHAPE;
  const pipeline = await pipelineFor(probe, tiling, shape, name);
  const a = randomBytes(shape.rows * shape.depth, 1);
  const b = randomBytes(shape.cols * shape.depth, 2);
  const expected = referenceGemm(config, shape, a, b);
  const buffers = [
    storageBuffer(device, a),
    storageBuffer(device, b),
    storageBuffer(device, shape.rows * shape.cols * 4),
  ];
  try {
    const bytes = await scoped(device, 'check dispatch', async () => {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup(device, pipeline, buffers));
      pass.dispatchWorkgroups(...dispatchSize(config, tiling, shape, probe.subgroupSize));
      pass.end();
      device.queue.submit([encoder.finish()]);
      return withTimeout(readBuffer(device, buffers[2]!, shape.rows * shape.cols * 4), 60, 'check read-back');
    });
    const actual = config.resultComponentType === 'i32' ? new Int32Array(bytes) : new Uint32Array(bytes);
    let worst = 0;
    let wrong = 0;
    const samples: string[] = [];
    for (let index = 0; index < expected.length; index++) {
      const error = Math.abs(actual[index]! - expected[index]!);
      if (error === 0) continue;
      wrong++;
      worst = Math.max(worst, error);
      if (samples.length < 4) {
        const row = Math.floor(index / shape.cols);
        samples.push(`[${row}][${index % shape.cols}] got ${actual[index]} want ${expected[index]}`);
      }
    }
    log(
      `  check ${shape.rows}×${shape.cols}×${shape.depth}: max error ${worst}, ${wrong} of ${expected.length} wrong${wrong > 0 ? ` (${samples.join('; ')})` : ''} → ${wrong === 0 ? 'EXACT' : 'WRONG'}`,
    );
    return wrong === 0;
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

let randomPiece: Uint8Array<ArrayBuffer> | undefined;

/** A buffer of `bytes` random bytes (one 64 MiB random piece, repeated; uploaded from the host). */
function randomBuffer(device: GPUDevice, bytes: number): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.ceil(bytes / 4) * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  });
  randomPiece ??= randomBytes(64 << 20, 3);
  for (let offset = 0; offset < bytes; offset += randomPiece.length) {
    const size = Math.min(randomPiece.length, bytes - offset);
    device.queue.writeBuffer(buffer, offset, randomPiece, 0, Math.ceil(size / 4) * 4);
  }
  return buffer;
}

/** The buffers of one timed shape: activations, rotated weight copies (so L2 cannot hold them all), output. */
interface ShapeBuffers {
  readonly activations: GPUBuffer;
  readonly weights: GPUBuffer[];
  readonly output: GPUBuffer;
}

function shapeBuffers(device: GPUDevice, shape: GemmShape): ShapeBuffers {
  const weightBytes = shape.cols * shape.depth;
  const copies = Math.max(1, Math.min(16, Math.ceil(ROTATION_BYTES / weightBytes)));
  return {
    activations: randomBuffer(device, shape.rows * shape.depth),
    weights: Array.from({ length: copies }, () => randomBuffer(device, weightBytes)),
    output: device.createBuffer({ size: shape.rows * shape.cols * 4, usage: GPUBufferUsage.STORAGE }),
  };
}

function destroyShapeBuffers(buffers: ShapeBuffers): void {
  for (const buffer of [buffers.activations, ...buffers.weights, buffers.output]) buffer.destroy();
}

/** Times one variant on one shape: seconds per GEMM (GPU timestamps when available), rotating the weight copies. */
async function time(
  probe: OpenDevice,
  tiling: GemmTiling,
  shape: GemmShape,
  buffers: ShapeBuffers,
  name: string,
): Promise<number> {
  const { device, config } = probe;
  const pipeline = await pipelineFor(probe, tiling, shape, name);
  const copies = buffers.weights.length;
  const groups = buffers.weights.map((weight) =>
    bindGroup(device, pipeline, [buffers.activations, weight, buffers.output]),
  );
  const size = dispatchSize(config, tiling, shape, probe.subgroupSize);
  const operations = 2 * shape.rows * shape.cols * shape.depth;
  const count = Math.max(copies, Math.min(400, Math.ceil(2e13 / operations)));
  const timing = await scoped(device, 'timed dispatches', () =>
    withTimeout(
      timeDispatches(device, probe.timestamps, count, (pass, index) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, groups[index % copies]!);
        pass.dispatchWorkgroups(...size);
      }),
      120,
      'timing',
    ),
  );
  return timing.gpuSeconds ?? timing.wallSeconds;
}

/** Reopens the device after a loss; undefined when that fails. */
async function reopen(probe: OpenDevice, flags: string[]): Promise<OpenDevice | undefined> {
  if (!probe.lost) return probe;
  log('  (reopening the device after the loss)');
  const opened = await openProbeDevice(flags, false, log);
  if (opened.kind !== 'device') {
    log(`  cannot reopen: ${opened.reason}`);
    return undefined;
  }
  return opened;
}

/** Times every variant on every shape (one line per measurement as it comes), then prints a table. */
async function timingTable(probe: OpenDevice, flags: string[], variants: GemmTiling[], exact: Set<GemmTiling>) {
  const shapeName = (shape: GemmShape) => `${shape.rows}×${shape.cols}×${shape.depth}`;
  const name = (tiling: GemmTiling) => tilingName(probe.config, tiling, probe.subgroupSize);
  const cells = new Map<GemmTiling, string[]>(variants.map((tiling) => [tiling, []]));
  let current: OpenDevice | undefined = probe;
  for (const shape of SHAPES) {
    let buffers: ShapeBuffers | undefined;
    for (const tiling of variants) {
      const row = cells.get(tiling)!;
      const reason = unsupportedReason(probe.config, tiling, shape, probe.subgroupSize);
      if (current?.lost) {
        buffers = undefined;
        current = await reopen(current, flags);
      }
      if (current === undefined || elapsed() > BUDGET_SECONDS || reason !== undefined) {
        row.push(reason !== undefined ? 'n/a' : 'skipped');
        continue;
      }
      try {
        buffers ??= shapeBuffers(current.device, shape);
        const seconds = await time(current, tiling, shape, buffers, name(tiling));
        const tops = (2 * shape.rows * shape.cols * shape.depth) / seconds / 1e12;
        row.push(`${tops.toFixed(1)} (${(seconds * 1e3).toFixed(3)} ms)`);
        log(`  ${shapeName(shape)} ${name(tiling)}: ${row.at(-1)}`);
      } catch (error) {
        row.push('FAILED');
        log(`  ${shapeName(shape)} ${name(tiling)}: FAILED ${String(error)}`);
      }
    }
    if (buffers !== undefined && current !== undefined && !current.lost) destroyShapeBuffers(buffers);
  }
  log(`\n| variant | ${SHAPES.map(shapeName).join(' | ')} |`);
  log(`|---|${SHAPES.map(() => '---:').join('|')}|`);
  for (const tiling of variants) {
    log(`| ${name(tiling)}${exact.has(tiling) ? '' : ' (NOT EXACT)'} | ${cells.get(tiling)!.join(' | ')} |`);
  }
  return current;
}

async function main(): Promise<void> {
  log('# Subgroup-matrix 8-bit GEMM probe');
  const flags = ['enable-dawn-features=allow_unsafe_apis', ...BASE_FLAGS];
  const opened = await openProbeDevice(flags, true, log);
  if (opened.kind !== 'device') {
    log(`\nSubgroup matrices unavailable: ${opened.reason}. Nothing to probe.`);
    return;
  }
  let probe: OpenDevice | undefined = opened;
  const { config, subgroupSize } = opened;
  log(
    `\nusing ${config.componentType} -> ${config.resultComponentType} M ${config.M} N ${config.N} K ${config.K}; subgroup size ${subgroupSize}; timing: ${opened.timestamps ? 'GPU timestamps' : 'wall time'}`,
  );

  log(`\n## Correctness (${CHECK_SHAPE.rows}×${CHECK_SHAPE.cols}×${CHECK_SHAPE.depth}, random full-range bytes)`);
  const variants = tilings();
  const runnable: GemmTiling[] = [];
  const exact = new Set<GemmTiling>();
  for (const tiling of variants) {
    const name = tilingName(config, tiling, subgroupSize);
    log(`- ${name}`);
    const reason = unsupportedReason(config, tiling, CHECK_SHAPE, subgroupSize);
    if (reason !== undefined) {
      log(`  skipped: ${reason}`);
      continue;
    }
    probe = probe === undefined ? undefined : await reopen(probe, flags);
    if (probe === undefined) break;
    try {
      if (await check(probe, tiling, name)) exact.add(tiling);
      runnable.push(tiling);
    } catch (error) {
      log(`  FAILED: ${String(error)}`);
    }
  }
  if (runnable.length === 0 || probe === undefined) {
    log('\nNo variant ran: nothing to time.');
    return;
  }

  log('\n## TOPS (2·rows·cols·depth / s), 8-bit operands, default Dawn robustness');
  probe = await timingTable(probe, flags, runnable, exact);
  probe?.device.destroy();

  if (elapsed() < BUDGET_SECONDS) {
    const unsafeFlags = ['enable-dawn-features=allow_unsafe_apis,disable_robustness', ...BASE_FLAGS];
    const unsafe = await openProbeDevice(unsafeFlags, false, log);
    if (unsafe.kind === 'device') {
      log('\n## TOPS with Dawn robustness off (disable_robustness)');
      const last = await timingTable(unsafe, unsafeFlags, runnable, exact);
      last?.device.destroy();
    } else {
      log(`\n(no device with robustness off: ${unsafe.reason})`);
    }
  }
  log(`\ntotal ${elapsed().toFixed(0)} s`);
}

try {
  await main();
} catch (error) {
  log(`probe failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
process.exit(0);
