// What one dispatch costs the CPU through Dawn's Node bindings, with nothing of strata in between: 200 trivial
// dispatches per command buffer, recorded in a few ways, timed in three parts (encoding the calls, `finish`,
// `queue.submit`), median of 60 runs, in µs per dispatch. It is the floor under the replay of a captured step
// (`step-profile.ts` in @strata/pipeline measures that), and it says which calls cost what:
//   - `setPipeline` once per pass or before every dispatch;
//   - `setBindGroup` with the one dynamic offset strata's kernels take (a typed array, or a plain array), or a bind group
//     whose uniform range is fixed (no dynamic offset);
//   - `dispatchWorkgroups` alone (one bind group for all).
// Run: `pnpm exec tsx --tsconfig tsconfig.json packages/kernels-webgpu/bench/dispatch-cost.ts` (DAWN_FLAGS adds instance
// flags, e.g. 'enable-dawn-features=skip_validation'), or bundled for the GPU machine like matvec-bench.ts.
import { openRawDevice } from '../src/wgsl/dequantize/raw-device.js';

const DISPATCHES = 200;
const RUNS = 60;

type Body = (pass: GPUComputePassEncoder) => void;

async function main(): Promise<void> {
  const flags = (process.env.DAWN_FLAGS ?? '').split(';').filter((flag) => flag !== '');
  const raw = await openRawDevice(flags);
  if (raw === undefined) throw new Error('no WebGPU adapter');
  const { device } = raw;
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<uniform> parameters: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@compute @workgroup_size(1) fn main() { output[0] = parameters.x; }`,
  });
  const layout = (dynamic: boolean) =>
    device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: dynamic } },
        { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      ],
    });
  const dynamicLayout = layout(true);
  const staticLayout = layout(false);
  const pipeline = (bindGroupLayout: GPUBindGroupLayout) =>
    device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }),
      compute: { module, entryPoint: 'main' },
    });
  const dynamicPipeline = pipeline(dynamicLayout);
  const staticPipeline = pipeline(staticLayout);
  const uniforms = device.createBuffer({ size: DISPATCHES * 256, usage: GPUBufferUsage.UNIFORM });
  const outputs = Array.from({ length: DISPATCHES }, () =>
    device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE }),
  );
  const dynamicGroups = outputs.map((buffer) =>
    device.createBindGroup({
      layout: dynamicLayout,
      entries: [
        { binding: 0, resource: { buffer: uniforms, size: 256 } },
        { binding: 1, resource: { buffer } },
      ],
    }),
  );
  const staticGroups = outputs.map((buffer, index) =>
    device.createBindGroup({
      layout: staticLayout,
      entries: [
        { binding: 0, resource: { buffer: uniforms, offset: index * 256, size: 256 } },
        { binding: 1, resource: { buffer } },
      ],
    }),
  );
  const offsets = outputs.map((_, index) => new Uint32Array([index * 256]));

  const measure = (label: string, body: Body) => {
    const runs: [number, number, number][] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      body(pass);
      pass.end();
      const encoded = performance.now();
      const commands = encoder.finish();
      const finished = performance.now();
      device.queue.submit([commands]);
      const submitted = performance.now();
      runs.push([encoded - started, finished - encoded, submitted - finished]);
    }
    runs.sort((a, b) => a[0] + a[1] + a[2] - (b[0] + b[1] + b[2]));
    const median = runs[RUNS >> 1]!;
    const perDispatch = median.map((milliseconds) => ((milliseconds * 1000) / DISPATCHES).toFixed(2));
    console.log(`| ${label} | ${perDispatch.join(' | ')} |`);
  };

  console.log(`# CPU per dispatch through Dawn's Node bindings (${DISPATCHES} dispatches, median of ${RUNS})`);
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  console.log(`adapter: ${info?.vendor ?? '?'} ${info?.architecture ?? ''} ${info?.description ?? ''}`);
  console.log('| recording | encode µs | finish µs | submit µs |\n|---|---:|---:|---:|');
  measure('setPipeline + setBindGroup (typed dynamic offset) + dispatch, as a replayed step', (pass) => {
    for (let index = 0; index < DISPATCHES; index++) {
      pass.setPipeline(dynamicPipeline);
      pass.setBindGroup(0, dynamicGroups[index]!, offsets[index]!, 0, 1);
      pass.dispatchWorkgroups(1, 1, 1);
    }
  });
  measure('setBindGroup (typed dynamic offset) + dispatch, one setPipeline', (pass) => {
    pass.setPipeline(dynamicPipeline);
    for (let index = 0; index < DISPATCHES; index++) {
      pass.setBindGroup(0, dynamicGroups[index]!, offsets[index]!, 0, 1);
      pass.dispatchWorkgroups(1, 1, 1);
    }
  });
  measure('setBindGroup (array dynamic offset) + dispatch, one setPipeline', (pass) => {
    pass.setPipeline(dynamicPipeline);
    for (let index = 0; index < DISPATCHES; index++) {
      pass.setBindGroup(0, dynamicGroups[index]!, [index * 256]);
      pass.dispatchWorkgroups(1, 1, 1);
    }
  });
  measure('setBindGroup (fixed uniform range) + dispatch, one setPipeline', (pass) => {
    pass.setPipeline(staticPipeline);
    for (let index = 0; index < DISPATCHES; index++) {
      pass.setBindGroup(0, staticGroups[index]!);
      pass.dispatchWorkgroups(1);
    }
  });
  measure('dispatch only', (pass) => {
    pass.setPipeline(staticPipeline);
    pass.setBindGroup(0, staticGroups[0]!);
    for (let index = 0; index < DISPATCHES; index++) pass.dispatchWorkgroups(1);
  });
  await device.queue.onSubmittedWorkDone();
  device.destroy();
}

await main();
process.exit(0);
