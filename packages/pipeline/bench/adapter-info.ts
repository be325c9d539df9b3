/**
 * Prints what the WebGPU adapter offers: its description, every feature (e.g. whether
 * `chromium-experimental-subgroup-matrix` is there) and the limits strata raises.
 *
 *   pnpm exec tsx packages/pipeline/bench/adapter-info.ts [--unsafe]
 */
const packageName: string = 'webgpu'; // resolved next to the bundle on the GPU machine (see device/bundle.sh)
const dawn = (await import(/* @vite-ignore */ packageName)) as unknown as {
  create: (options: string[]) => GPU;
  globals: Record<string, unknown>;
};
Object.assign(globalThis, dawn.globals);
// Dawn lists experimental features (subgroup matrices among them) only with its unsafe APIs allowed.
const gpu = dawn.create(process.argv.includes('--unsafe') ? ['enable-dawn-features=allow_unsafe_apis'] : []);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (adapter === null) throw new Error('no WebGPU adapter');
const limits: Record<string, number> = {};
for (const name of [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
  'minUniformBufferOffsetAlignment',
] as const) {
  limits[name] = adapter.limits[name];
}
// GPUAdapterInfo's fields are getters (JSON.stringify sees none); the subgroup-matrix configurations (component and
// result types, M × N × K) say which element types a cooperative-matrix mat-mul could use.
const info = adapter.info as GPUAdapterInfo & { readonly subgroupMatrixConfigs?: readonly Record<string, unknown>[] };
const subgroupMatrixConfigs = (info.subgroupMatrixConfigs ?? []).map((config) => ({
  componentType: config.componentType,
  resultComponentType: config.resultComponentType,
  M: config.M,
  N: config.N,
  K: config.K,
}));
const described = {
  vendor: info.vendor,
  architecture: info.architecture,
  device: info.device,
  description: info.description,
  subgroupMinSize: info.subgroupMinSize,
  subgroupMaxSize: info.subgroupMaxSize,
  subgroupMatrixConfigs,
};
process.stdout.write(
  `${JSON.stringify({ info: described, features: [...adapter.features].sort(), limits }, null, 1)}\n`,
);
export {};
