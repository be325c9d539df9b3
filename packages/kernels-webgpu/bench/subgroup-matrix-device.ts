// Opens a Dawn device with `chromium-experimental-subgroup-matrix` for the subgroup-matrix probe, and the helpers that
// keep one failing kernel from ending the run: compilation with every compiler message printed, error scopes around
// GPU work, timeouts on GPU waits. Node only: imports `webgpu` lazily.
import { maximisedLimits, SUBGROUP_MATRIX_FEATURE } from '../src/device/acquire-device.js';
import { type AdapterMatrixConfig, adapterMatrixConfigs, type DawnAdapterInfo } from '../src/device/subgroup-matrix.js';
import type { IntegerMatrixConfig } from './subgroup-matrix-gemm-shader.js';

/** An open device, or why there is none. */
export type ProbeDevice =
  | {
      readonly kind: 'device';
      /** The device (with subgroups, subgroup matrices, and timestamps when offered). */
      readonly device: GPUDevice;
      /** The 8-bit configuration the kernels use. */
      readonly config: IntegerMatrixConfig;
      /** The adapter's largest subgroup size (workgroup x sizes must be multiples of it). */
      readonly subgroupSize: number;
      /** Whether GPU timestamps are available. */
      readonly timestamps: boolean;
      /** Set once the device is lost. */
      lost: boolean;
      /** Keeps Dawn alive as long as the device is used. */
      readonly keepAlive: unknown;
    }
  | { readonly kind: 'missing' /** What is missing, for the log. */; readonly reason: string };

/** Picks the 8-bit integer configuration: i8 → i32 first, then u8 → u32, then any other 8-bit one. */
export function pickIntegerConfig(configs: readonly AdapterMatrixConfig[]): IntegerMatrixConfig | undefined {
  const integer = configs.filter(
    (config) =>
      (config.componentType === 'i8' || config.componentType === 'u8') &&
      (config.resultComponentType === 'i32' || config.resultComponentType === 'u32'),
  ) as IntegerMatrixConfig[];
  const rank = (config: IntegerMatrixConfig) =>
    config.componentType === 'i8' && config.resultComponentType === 'i32'
      ? 0
      : config.componentType === 'u8' && config.resultComponentType === 'u32'
        ? 1
        : 2;
  return [...integer].sort((left, right) => rank(left) - rank(right))[0];
}

/**
 * Creates a Dawn instance with `flags`, prints the adapter (once, when `describe`), and opens a device with subgroup
 * matrices. `log` receives each line.
 */
export async function openProbeDevice(
  flags: readonly string[],
  describe: boolean,
  log: (line: string) => void,
): Promise<ProbeDevice> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([...flags]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return { kind: 'missing', reason: 'no WebGPU adapter' };
  const info = adapter.info as DawnAdapterInfo;
  const configs = adapterMatrixConfigs(info);
  if (describe) {
    log(`adapter: ${info.vendor} / ${info.architecture} / ${info.description}; Dawn flags: ${flags.join(' ')}`);
    log(`subgroup sizes: ${info.subgroupMinSize ?? '?'}…${info.subgroupMaxSize ?? '?'}`);
    log(`features: ${[...adapter.features].sort().join(', ')}`);
    log(`subgroupMatrixConfigs (${configs.length}):`);
    for (const config of configs) {
      log(`  ${config.componentType} -> ${config.resultComponentType}  M ${config.M} N ${config.N} K ${config.K}`);
    }
  }
  if (!adapter.features.has(SUBGROUP_MATRIX_FEATURE)) {
    return {
      kind: 'missing',
      reason: `the adapter has no '${SUBGROUP_MATRIX_FEATURE}' (Dawn lists it only with allow_unsafe_apis, on Vulkan with VK_KHR_cooperative_matrix)`,
    };
  }
  if (!adapter.features.has('subgroups')) return { kind: 'missing', reason: "the adapter has no 'subgroups'" };
  const config = pickIntegerConfig(configs);
  if (config === undefined) {
    return { kind: 'missing', reason: 'no i8 -> i32 / u8 -> u32 subgroup-matrix configuration' };
  }
  const features = [SUBGROUP_MATRIX_FEATURE, 'subgroups', 'timestamp-query', 'shader-f16'].filter((name) =>
    adapter.features.has(name),
  ) as GPUFeatureName[];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: maximisedLimits(adapter),
    });
  } catch (error) {
    return { kind: 'missing', reason: `requestDevice failed: ${String(error)}` };
  }
  const opened: ProbeDevice = {
    kind: 'device',
    device,
    config,
    subgroupSize: info.subgroupMaxSize ?? 32,
    timestamps: features.includes('timestamp-query'),
    lost: false,
    keepAlive: gpu,
  };
  void device.lost.then((lost) => {
    opened.lost = true;
    log(`DEVICE LOST (${lost.reason}): ${lost.message}`);
  });
  let uncaptured = 0;
  device.onuncapturederror = (event) => {
    if (uncaptured++ < 5) log(`UNCAPTURED GPU ERROR: ${(event as GPUUncapturedErrorEvent).error.message}`);
  };
  return opened;
}

/** Rejects with a message when `promise` has not settled after `seconds` (a hung GPU must not eat the whole run). */
export function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Compiles `code`, printing every compiler message (warnings too) with its source line; throws on errors. */
export async function compileProbePipeline(
  device: GPUDevice,
  code: string,
  label: string,
  log: (line: string) => void,
): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label });
  const info = await withTimeout(module.getCompilationInfo(), 120, `${label} compilation info`);
  const moduleError = await device.popErrorScope();
  const lines = code.split('\n');
  for (const message of info.messages) {
    log(`  [${message.type}] ${label}:${message.lineNum}:${message.linePos} ${message.message}`);
    if (message.lineNum > 0) log(`      ${(lines[message.lineNum - 1] ?? '').trim()}`);
  }
  if (info.messages.some((message) => message.type === 'error')) throw new Error('WGSL compilation failed');
  if (moduleError !== null) throw new Error(`createShaderModule: ${moduleError.message}`);
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  let pipeline: GPUComputePipeline;
  try {
    pipeline = await withTimeout(
      device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label }),
      180,
      `${label} pipeline creation`,
    );
  } finally {
    const internal = await device.popErrorScope();
    const validation = await device.popErrorScope();
    if (internal !== null) log(`  pipeline internal error: ${internal.message}`);
    if (validation !== null) log(`  pipeline validation error: ${validation.message}`);
  }
  return pipeline;
}

/** Runs `work` inside validation, out-of-memory and internal error scopes; throws with the first error reported. */
export async function scoped<T>(device: GPUDevice, what: string, work: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('internal');
  let result: T | undefined;
  let failure: unknown;
  try {
    result = await work();
  } catch (error) {
    failure = error;
  }
  const errors = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
  const reported = errors.find((error) => error !== null);
  if (reported) throw new Error(`${what}: ${reported.message}`);
  if (failure !== undefined) throw failure;
  return result as T;
}
