import { describe, expect, it } from 'vitest';

// Runs one compute shader on whatever adapter Dawn finds (lavapipe in CI). Skips, saying why, only when no adapter exists;
// CI sets STRATA_REQUIRE_WEBGPU=1 so a missing adapter fails there instead.
describe('WebGPU through Dawn in Node', () => {
  it('runs a compute shader and reads the result back', async (context) => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    // Dawn lives as long as the object `create` returns is referenced: keep it until the device is done.
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (adapter === null && process.env.STRATA_REQUIRE_WEBGPU !== '1') {
      context.skip('Dawn found no WebGPU adapter: install Mesa >= 25 lavapipe (see .ci/install-system.sh)');
    }
    expect(adapter, 'no WebGPU adapter: install Mesa 25 lavapipe (.ci/install-system.sh)').not.toBeNull();
    const device = await adapter!.requestDevice();
    const input = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const storage = device.createBuffer({
      size: input.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(storage, 0, input);
    const module = device.createShaderModule({
      code: `@group(0) @binding(0) var<storage, read_write> data: array<f32>;
             @compute @workgroup_size(8) fn main(@builtin(global_invocation_id) id: vec3u) { data[id.x] = data[id.x] * data[id.x] + 1.0; }`,
    });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: storage } }],
    });
    const readback = device.createBuffer({
      size: input.byteLength,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(storage, 0, readback, 0, input.byteLength);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const result = Array.from(new Float32Array(readback.getMappedRange()));
    readback.unmap();
    expect(result).toEqual(Array.from(input, (value) => value * value + 1));
    device.destroy();
    expect(gpu).toBeDefined();
  });
});
