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
process.stdout.write(
  `${JSON.stringify({ info: adapter.info, features: [...adapter.features].sort(), limits }, null, 1)}\n`,
);
export {};
