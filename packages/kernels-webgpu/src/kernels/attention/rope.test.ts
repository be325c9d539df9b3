import type { RopeParameters } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import { useBackendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { WGSL_ROPE_SINCOS } from './rope.js';
import { testValues } from '../../testing/test-values.js';

const backend = useBackendForTests();

/** Runs `rope_sincos` on every angle: `[cos, sin]` pairs. */
async function sincos(backend: WebGpuBackend, angles: Float32Array): Promise<Float32Array> {
  const runtime = backend.runtime;
  const input = runtime.upload(angles, [angles.length]);
  const output = runtime.allocate('f32', [angles.length, 2]);
  runtime.dispatch({
    shader: {
      key: 'test:rope-sincos',
      storage: ['read', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> angles: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<f32>;
${WGSL_LINEAR_GROUP}
${WGSL_ROPE_SINCOS}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * 64u + li;
  if (index >= params.count) { return; }
  let cs = rope_sincos(angles[index]);
  result[2u * index] = cs.x;
  result[2u * index + 1u] = cs.y;
}`,
    },
    uniforms: new Uniforms().u(angles.length).words,
    buffers: [{ tracked: input.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(angles.length / 64)),
  });
  return (await backend.read(output)) as Float32Array;
}

describe('rope on WebGPU', () => {
  it('rope_sincos agrees with Math.cos/Math.sin to 2e-7 over a sweep of angles up to 1.6e6', async (context) => {
    const gpu = backend(context);
    const angles: number[] = [0, -0, Math.fround(Math.PI / 4), Math.fround(Math.PI / 2), Math.fround(Math.PI)];
    for (let i = 0; i < 2000; i++) angles.push(Math.fround(-7 + (14 * i) / 1999)); // dense over a few turns
    for (let i = 0; i < 2000; i++) angles.push(Math.fround(10 ** (-3 + (9.2 * i) / 1999))); // 1e-3 … 1.6e6
    for (const multiple of [1, 2, 3, 1000, 65_536, 300_000, 1_000_000]) {
      const near = Math.fround((multiple * Math.PI) / 2); // the hardest: near multiples of π/2
      angles.push(near, Math.fround(near * (1 + 2 ** -23)), Math.fround(near * (1 - 2 ** -23)));
    }
    const input = Float32Array.from(angles);
    const result = await sincos(gpu, input);
    let worst = 0;
    for (let i = 0; i < input.length; i++) {
      const angle = input[i]!;
      const error = Math.max(
        Math.abs(result[2 * i]! - Math.cos(angle)),
        Math.abs(result[2 * i + 1]! - Math.sin(angle)),
      );
      worst = Math.max(worst, error);
    }
    expect(worst).toBeLessThan(2e-7);
  });

  it('matches the CPU backend at large positions (θ = position · frequency rounded to f32)', async (context) => {
    const gpu = backend(context);
    const cpu = createCpuBackend();
    const headDimensions = 16;
    const half = headDimensions / 2;
    const inverseFrequencies = Float32Array.from({ length: half }, (_, i) => 10000 ** ((-2 * i) / headDimensions));
    for (const pairing of ['adjacent', 'half-split'] as const) {
      const parameters: RopeParameters = {
        headDimensions,
        rotaryDimensions: headDimensions,
        pairing,
        inverseFrequencies,
        attentionFactor: 1,
      };
      for (const firstPosition of [1, 1000, 131_071, 1_000_000]) {
        const data = testValues(2 * 2 * headDimensions, firstPosition);
        const expected = (await cpu.read(
          cpu.rope(cpu.upload(data, [2, 2 * headDimensions]), firstPosition, parameters),
        )) as Float32Array;
        const actual = (await gpu.read(
          gpu.rope(gpu.upload(data, [2, 2 * headDimensions]), firstPosition, parameters),
        )) as Float32Array;
        for (let i = 0; i < data.length; i++) {
          // |x| of the pair bounds the rotated value's error.
          const pairBound = Math.abs(data[i]!) + 1;
          expect(Math.abs(actual[i]! - expected[i]!), `${pairing} position ${firstPosition} element ${i}`).toBeLessThan(
            1e-6 * pairBound,
          );
        }
      }
    }
  });
});
