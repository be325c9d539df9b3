import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WEIGHT_TYPES, type WeightType } from '@strata/core';
import { openGgufFile } from '@strata/loaders/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEQUANTIZE_WORKGROUP_SIZE, dequantizeKernelWgsl } from './dequantize-kernel.js';
import { rowByteLength, weightShader } from './index.js';
import {
  computePipeline,
  openRawDevice,
  type RawDevice,
  readBuffer,
  storageBuffer,
  uniformBuffer,
  workgroupGrid,
} from './raw-device.js';

// Every weight type's WGSL reader, both entries (`dequant4` and `unit_load`), against gguf-py's dequantization of the
// quant-base model (first 16 values exactly, sums to 1e-5 relative).
const FIXTURES = fileURLToPath(new URL('../../../../../../shared/fixtures/models/quant-base/', import.meta.url));

interface Check {
  readonly name: string;
  readonly first16: number[];
  readonly sum: number;
  readonly sum_abs: number;
  readonly sum_sq: number;
}

const fileName = (type: WeightType) => (type === 'F32' ? 'f32' : type);

let gpu: RawDevice | undefined;
beforeAll(async () => {
  gpu = await openRawDevice();
  if (gpu === undefined && process.env.STRATA_REQUIRE_WEBGPU === '1') throw new Error('no WebGPU adapter');
});
afterAll(() => gpu?.device.destroy());

async function dequantizeOnGpu(
  raw: RawDevice,
  type: WeightType,
  bytes: Uint8Array,
  rows: number,
  columns: number,
  entry: 'random' | 'unit',
): Promise<Float32Array> {
  const { device } = raw;
  const pipeline = await computePipeline(device, dequantizeKernelWgsl(type, columns, entry), `dequantize-${type}`);
  const weights = storageBuffer(device, bytes);
  const output = storageBuffer(device, rows * columns * 4);
  const params = uniformBuffer(device, new Uint32Array([rows, columns, rowByteLength(type, columns), 0]).buffer);
  const perRow = entry === 'random' ? Math.ceil(columns / 4) : Math.ceil(columns / weightShader(type).unitColumns);
  const [x, y] = workgroupGrid(Math.ceil((rows * perRow) / DEQUANTIZE_WORKGROUP_SIZE));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: weights } },
        { binding: 1, resource: { buffer: output } },
        { binding: 2, resource: { buffer: params } },
      ],
    }),
  );
  pass.dispatchWorkgroups(x, y);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const result = new Float32Array(await readBuffer(device, output, rows * columns * 4));
  weights.destroy();
  output.destroy();
  params.destroy();
  return result;
}

describe('WGSL dequantization of every weight type', () => {
  for (const type of WEIGHT_TYPES) {
    it(`${type} matches gguf-py`, async (context) => {
      if (gpu === undefined) return context.skip('Dawn found no WebGPU adapter');
      const checks = JSON.parse(readFileSync(`${FIXTURES}dequant-check-${fileName(type)}.json`, 'utf8')) as Check[];
      const file = await openGgufFile(`${FIXTURES}model-${fileName(type)}.gguf`);
      for (const check of checks.slice(2, 5)) {
        const entry = file.tensors.get(check.name);
        const [rows, columns] = entry.shape as [number, number];
        const bytes = await file.tensors.readBytes(check.name);
        for (const mode of ['random', 'unit'] as const) {
          const values = await dequantizeOnGpu(gpu, type, bytes, rows, columns, mode);
          let sum = 0;
          let sumAbs = 0;
          let sumSquares = 0;
          for (const value of values) {
            sum += value;
            sumAbs += Math.abs(value);
            sumSquares += value * value;
          }
          const where = `${type} ${check.name} (${mode})`;
          for (let i = 0; i < 16; i++) expect(values[i], `${where} [${i}]`).toBeCloseTo(check.first16[i] as number, 6);
          expect(Math.abs(sum - check.sum), `${where} sum`).toBeLessThanOrEqual(1e-5 * check.sum_abs);
          expect(Math.abs(sumAbs - check.sum_abs), `${where} sum_abs`).toBeLessThanOrEqual(1e-5 * check.sum_abs);
          expect(Math.abs(sumSquares - check.sum_sq), `${where} sum_sq`).toBeLessThanOrEqual(1e-5 * check.sum_sq);
        }
      }
    });
  }
});
