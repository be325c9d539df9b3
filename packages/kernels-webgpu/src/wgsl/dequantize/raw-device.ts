import { maximisedLimits } from '../../device/acquire-device.js';
import { type AdapterMatrixConfig, adapterMatrixConfigs, type DawnAdapterInfo } from '../../device/subgroup-matrix.js';

/**
 * A bare Dawn device and one-shot kernel runs, for the kernel tests and the benchmark before (and independent of) the
 * backend's device layer. Node only: imports `webgpu` lazily.
 */
export interface RawDevice {
  /** The device. */
  readonly device: GPUDevice;
  /** Features the device was created with (`subgroups`, `timestamp-query` when the adapter has them). */
  readonly features: ReadonlySet<string>;
  /** The adapter's subgroup size range, when it reports one. */
  readonly subgroupSizes: { readonly min: number; readonly max: number } | undefined;
  /** The adapter's subgroup-matrix configurations (Dawn; empty when it reports none). */
  readonly subgroupMatrixConfigs: readonly AdapterMatrixConfig[];
  /** Keeps Dawn alive as long as the device is used. */
  readonly keepAlive: unknown;
}

/**
 * Opens the first adapter with the optional features it has (`subgroups`, `timestamp-query`, and those of
 * `extraFeatures` it lists); undefined when Dawn finds no adapter. `dawnFlags` go to Dawn's `create` (e.g.
 * `disable-dawn-features=timestamp_quantization` for benchmarks).
 */
export async function openRawDevice(
  dawnFlags: string[] = [],
  extraFeatures: readonly string[] = [],
): Promise<RawDevice | undefined> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(dawnFlags);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return undefined;
  const wanted = ['subgroups', 'timestamp-query', ...extraFeatures].filter((name) =>
    adapter.features.has(name),
  ) as GPUFeatureName[];
  const device = await adapter.requestDevice({
    requiredFeatures: wanted,
    requiredLimits: maximisedLimits(adapter),
  });
  const info = adapter.info as DawnAdapterInfo;
  const subgroupSizes =
    info.subgroupMinSize !== undefined && info.subgroupMaxSize !== undefined
      ? { min: info.subgroupMinSize, max: info.subgroupMaxSize }
      : undefined;
  const subgroupMatrixConfigs = adapterMatrixConfigs(info);
  return { device, features: new Set(wanted), subgroupSizes, subgroupMatrixConfigs, keepAlive: gpu };
}

/** A storage buffer holding `data` (padded to 4 bytes). */
export function storageBuffer(device: GPUDevice, data: ArrayBufferView | number, extraUsage = 0): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buffer = device.createBuffer({
    size: Math.max(16, Math.ceil(size / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
  });
  if (typeof data !== 'number') {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    device.queue.writeBuffer(buffer, 0, padded);
  }
  return buffer;
}

/** A uniform buffer of u32/f32 words. */
export function uniformBuffer(device: GPUDevice, words: ArrayBuffer): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(16, Math.ceil(words.byteLength / 16) * 16),
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, words);
  return buffer;
}

/** Copies `byteLength` bytes of a buffer to the host. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength: number): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: byteLength, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, byteLength);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return copy;
}

/**
 * Compiles `code` and throws with the compiler's messages when it fails. `bindings` gives an explicit layout (binding i
 * of group 0 has buffer type `bindings[i]`), so bindings the shader does not use stay in it; otherwise `'auto'`.
 */
export async function computePipeline(
  device: GPUDevice,
  code: string,
  label: string,
  bindings?: readonly GPUBufferBindingType[],
): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((message) => message.type === 'error');
  if (errors.length > 0) {
    const lines = code.split('\n');
    const text = errors
      .map(
        (message) =>
          `${label}:${message.lineNum}:${message.linePos} ${message.message}\n  ${lines[message.lineNum - 1] ?? ''}`,
      )
      .join('\n');
    throw new Error(`WGSL compilation failed:\n${text}`);
  }
  device.pushErrorScope('validation');
  const layout =
    bindings === undefined
      ? 'auto'
      : device.createPipelineLayout({
          bindGroupLayouts: [
            device.createBindGroupLayout({
              entries: bindings.map((type, binding) => ({
                binding,
                visibility: GPUShaderStage.COMPUTE,
                buffer: { type },
              })),
            }),
          ],
        });
  const pipeline = await device.createComputePipelineAsync({ layout, compute: { module, entryPoint: 'main' }, label });
  const error = await device.popErrorScope();
  if (error !== null) throw new Error(`${label}: ${error.message}`);
  return pipeline;
}

/** Splits a workgroup count over x and y (x at most 65535). */
export function workgroupGrid(count: number): [number, number] {
  if (count <= 65535) return [Math.max(1, count), 1];
  const y = Math.ceil(count / 65535);
  return [Math.ceil(count / y), y];
}
