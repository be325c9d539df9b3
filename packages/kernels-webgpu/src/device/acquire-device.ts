import { StrataError } from '@strata/core';
import { withDawnFeatures, withDefaultDawnFeatures } from './dawn-flags.js';
import { type DawnAdapterInfo, type Int8SubgroupMatrix, pickInt8SubgroupMatrix } from './subgroup-matrix.js';

/** Optional features the backend uses when the adapter offers them; every kernel has a path without each one. */
export interface GpuFeatures {
  /** WGSL `subgroups`: workgroup reductions use `subgroupAdd`/`subgroupMax` instead of shared-memory trees. */
  readonly subgroups: boolean;
  /** `shader-f16` is enabled on the device. Kernels never require it: f16 data stays packed in u32 words. */
  readonly shaderF16: boolean;
  /** `timestamp-query` is enabled (benchmarks). */
  readonly timestampQuery: boolean;
  /**
   * Dawn's `chromium-experimental-subgroup-matrix` with an i8 → i32 configuration the int8 prefill mat-mul can use
   * (requested only with `tuning.int8Prefill` and when the adapter lists it; Dawn lists it with `allow_unsafe_apis`),
   * or undefined.
   */
  readonly subgroupMatrix: Int8SubgroupMatrix | undefined;
}

/** The optional features `DeviceOptions.disableFeatures` may name. */
export type OptionalFeatureName = 'subgroups' | 'shader-f16' | 'timestamp-query' | typeof SUBGROUP_MATRIX_FEATURE;

/** Dawn's name of the subgroup-matrix (cooperative matrix) feature. */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';

/** Options of {@link acquireDevice} and `createWebGpuBackend`. */
export interface DeviceOptions {
  /** Use this device instead of requesting one (the caller owns it; `destroy()` then leaves it alive). */
  readonly device?: GPUDevice;
  /** Adapter power preference. */
  readonly powerPreference?: GPUPowerPreference;
  /** Turn off optional features even where the adapter has them (tests of the fallback paths). */
  readonly disableFeatures?: readonly OptionalFeatureName[];
  /**
   * Node only (ignored in browsers): flags for Dawn's instance, as the `webgpu` package's `create(flags)` takes them,
   * e.g. `['enable-dawn-features=skip_validation']`. Benchmarks use them to measure Dawn's own costs. The toggles of
   * `DEFAULT_DAWN_FEATURES` are added unless a flag names them (`disable-dawn-features=…` keeps one off).
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
/** Limits a device is asked for at the adapter's maximum (large weight bindings, big workgroups). */
const MAXIMISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * The limits strata's kernels want, each at `adapter`'s maximum (the largest storage binding and buffer, workgroup
 * storage and size, storage buffers per stage): the `requiredLimits` of every device strata opens.
 */
export function maximisedLimits(adapter: GPUAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const name of MAXIMISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return limits;
}

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

/** What the backend asks of {@link acquireDevice} beyond the caller's options. */
export interface DeviceRequest {
  /**
   * Request `chromium-experimental-subgroup-matrix` when the adapter lists it with a usable i8 configuration (in Node the
   * Dawn instance is then created with `allow_unsafe_apis`, the toggle under which Dawn lists it).
   */
  readonly subgroupMatrix: boolean;
}

/**
 * Requests an adapter and a device with the adapter's largest storage and workgroup limits and every optional feature
 * it has (the subgroup-matrix feature only when `request.subgroupMatrix`). Throws `NO_ADAPTER` (saying what to
 * install) when there is none.
 */
export async function acquireDevice(
  options: DeviceOptions = {},
  request: DeviceRequest = { subgroupMatrix: false },
): Promise<AcquiredDevice> {
  const disabled = new Set<string>(options.disableFeatures ?? []);
  if (!request.subgroupMatrix) disabled.add(SUBGROUP_MATRIX_FEATURE);
  if (options.device !== undefined) {
    const device = options.device;
    const info = (device as GPUDevice & { adapterInfo?: DawnAdapterInfo }).adapterInfo;
    const features = featuresOf(device.features, disabled, info);
    return { device, features, instance: undefined, release: () => {} };
  }
  // Dawn lists subgroup matrices only with its `allow_unsafe_apis` toggle: turned on (Node) when they are wanted.
  const wantsMatrices = request.subgroupMatrix && !disabled.has(SUBGROUP_MATRIX_FEATURE);
  const flags = withDefaultDawnFeatures(options.dawnFlags ?? []);
  const { gpu, keepAlive } = await findGpu(wantsMatrices ? withDawnFeatures(flags, 'allow_unsafe_apis') : flags);
  const adapter = await gpu.requestAdapter(
    options.powerPreference === undefined ? undefined : { powerPreference: options.powerPreference },
  );
  if (adapter === null) {
    throw new StrataError(
      'NO_ADAPTER',
      'No WebGPU adapter found. Install a GPU driver with Vulkan/Metal/D3D12 support, or Mesa >= 25 lavapipe for a CPU fallback (see .ci/install-system.sh).',
    );
  }
  const info = adapter.info as DawnAdapterInfo;
  const requiredFeatures: string[] = OPTIONAL_FEATURES.filter(
    (name) => adapter.features.has(name) && !disabled.has(name),
  );
  const matrixUsable = featuresOf(adapter.features, disabled, info).subgroupMatrix !== undefined;
  if (matrixUsable) requiredFeatures.push(SUBGROUP_MATRIX_FEATURE);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: requiredFeatures as GPUFeatureName[],
      requiredLimits: maximisedLimits(adapter),
    });
  } catch (cause) {
    throw new StrataError('NO_ADAPTER', `The WebGPU adapter refused to create a device: ${String(cause)}`, { cause });
  }
  let released = false;
  const acquired: AcquiredDevice = {
    device,
    features: featuresOf(device.features, disabled, info),
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

function featuresOf(
  features: GPUSupportedFeatures,
  disabled: ReadonlySet<string>,
  info: DawnAdapterInfo | undefined,
): GpuFeatures {
  const has = (name: string) => features.has(name) && !disabled.has(name);
  const subgroupMatrix =
    has(SUBGROUP_MATRIX_FEATURE) && has('subgroups')
      ? pickInt8SubgroupMatrix(info?.subgroupMatrixConfigs ?? [], info?.subgroupMinSize, info?.subgroupMaxSize)
      : undefined;
  return {
    subgroups: has('subgroups'),
    shaderF16: has('shader-f16'),
    timestampQuery: has('timestamp-query'),
    subgroupMatrix,
  };
}
