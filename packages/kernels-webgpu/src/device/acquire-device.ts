import { StrataError } from '@strata/core';

/** Optional features the backend uses when the adapter offers them; every kernel has a path without each one. */
export interface GpuFeatures {
  /** WGSL `subgroups`: workgroup reductions use `subgroupAdd`/`subgroupMax` instead of shared-memory trees. */
  readonly subgroups: boolean;
  /** `shader-f16` is enabled on the device. Kernels never require it: f16 data stays packed in u32 words. */
  readonly shaderF16: boolean;
  /** `timestamp-query` is enabled (benchmarks). */
  readonly timestampQuery: boolean;
}

/** Options of {@link acquireDevice} and `createWebGpuBackend`. */
export interface DeviceOptions {
  /** Use this device instead of requesting one (the caller owns it; `destroy()` then leaves it alive). */
  readonly device?: GPUDevice;
  /** Adapter power preference. */
  readonly powerPreference?: GPUPowerPreference;
  /** Turn off optional features even where the adapter has them (tests of the fallback paths). */
  readonly disableFeatures?: readonly ('subgroups' | 'shader-f16' | 'timestamp-query')[];
  /**
   * Node only (ignored in browsers): flags for Dawn's instance, as the `webgpu` package's `create(flags)` takes them,
   * e.g. `['enable-dawn-features=skip_validation']`. Benchmarks use them to measure Dawn's own costs.
   */
  readonly dawnFlags?: readonly string[];
}

/** A device with what the backend learned while acquiring it. */
export interface AcquiredDevice {
  /**
   * The device: requested with the adapter's largest storage-buffer, buffer-size and workgroup-storage limits, or the
   * caller's own `DeviceOptions.device` (which `release` then leaves alive).
   */
  readonly device: GPUDevice;
  /** Optional features enabled on `device`, less those named in `DeviceOptions.disableFeatures`. */
  readonly features: GpuFeatures;
  /**
   * What keeps the GPU implementation alive: in Node the Dawn instance of `create([])`, which must stay referenced as
   * long as the device is used (Dawn shuts down when it is collected). Cleared by `release`.
   */
  instance: unknown;
  /** Releases the device and, in Node, the Dawn instance (so the process can exit). */
  readonly release: () => void;
}

const OPTIONAL_FEATURES = ['subgroups', 'shader-f16', 'timestamp-query'] as const;
const MAXIMISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Finds `navigator.gpu` in a browser or worker, otherwise loads Dawn through the optional `webgpu` package (Node). */
async function findGpu(dawnFlags: readonly string[]): Promise<{ gpu: GPU; keepAlive: unknown }> {
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (navigatorGpu !== undefined) return { gpu: navigatorGpu, keepAlive: undefined };
  let module: { create: (options: string[]) => GPU; globals: Record<string, unknown> };
  try {
    const name = 'webgpu';
    module = (await import(/* @vite-ignore */ name)) as typeof module;
  } catch (cause) {
    throw new StrataError(
      'NO_ADAPTER',
      'WebGPU is not available: in Node install the `webgpu` package (npm i webgpu); in a browser use one with WebGPU enabled.',
      { cause },
    );
  }
  // Dawn's globals (GPUBufferUsage, GPUMapMode, …) are needed by code that runs outside a browser.
  for (const [key, value] of Object.entries(module.globals)) {
    if (!(key in globalThis)) Object.assign(globalThis, { [key]: value });
  }
  // Dawn stays alive only while this object is referenced: the caller keeps it until release().
  const gpu = module.create([...dawnFlags]);
  return { gpu, keepAlive: gpu };
}

/**
 * Requests an adapter and a device with the adapter's largest storage and workgroup limits and every optional feature
 * it has. Throws `NO_ADAPTER` (saying what to install) when there is none.
 */
export async function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const disabled = new Set<string>(options.disableFeatures ?? []);
  if (options.device !== undefined) {
    const device = options.device;
    return { device, features: featuresOf(device.features, disabled), instance: undefined, release: () => {} };
  }
  const { gpu, keepAlive } = await findGpu(options.dawnFlags ?? []);
  const adapter = await gpu.requestAdapter(
    options.powerPreference === undefined ? undefined : { powerPreference: options.powerPreference },
  );
  if (adapter === null) {
    throw new StrataError(
      'NO_ADAPTER',
      'No WebGPU adapter found. Install a GPU driver with Vulkan/Metal/D3D12 support, or Mesa >= 25 lavapipe for a CPU fallback (see .ci/install-system.sh).',
    );
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((name) => adapter.features.has(name) && !disabled.has(name));
  const requiredLimits: Record<string, number> = {};
  for (const name of MAXIMISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: requiredFeatures as GPUFeatureName[], requiredLimits });
  } catch (cause) {
    throw new StrataError('NO_ADAPTER', `The WebGPU adapter refused to create a device: ${String(cause)}`, { cause });
  }
  let released = false;
  const acquired: AcquiredDevice = {
    device,
    features: featuresOf(device.features, disabled),
    instance: keepAlive,
    release: () => {
      if (released) return;
      released = true;
      device.destroy();
      acquired.instance = undefined;
    },
  };
  return acquired;
}

function featuresOf(features: GPUSupportedFeatures, disabled: ReadonlySet<string>): GpuFeatures {
  const has = (name: string) => features.has(name) && !disabled.has(name);
  return { subgroups: has('subgroups'), shaderF16: has('shader-f16'), timestampQuery: has('timestamp-query') };
}
