/**
 * The benchmark for a GPU machine: writes random-weight GGUF files with released models' dimensions (see
 * write-random-gguf.ts) and measures llama-bench's pp and tg on the WebGPU backend, printing one JSON report.
 *
 *   pnpm exec tsx packages/pipeline/bench/gpu-bench.ts --models llama-3.2-1b,llama-3-8b --types F16,Q8_0,Q4_K_M \
 *     -p 512 -n 128 -r 3 --dir /tmp/strata-bench --out report.json
 *
 * Bundled into one file for a machine without node_modules: see packages/pipeline/README.md ("Benchmarks").
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createWebGpuBackend, type QuantMatvecTunings, type WebGpuTuning } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { benchmarkPipeline, checkCacheType, TextPipeline } from '@strata/pipeline';
import { type FileType, MODELS, writeRandomGguf } from './random-gguf.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'llama-3.2-1b,llama-3-8b' },
    types: { type: 'string', default: 'F16,Q8_0,Q4_K_M' },
    'n-prompt': { type: 'string', short: 'p', default: '512' },
    'n-gen': { type: 'string', short: 'n', default: '128' },
    repetitions: { type: 'string', short: 'r', default: '3' },
    'chunk-size': { type: 'string', default: '512' },
    // Tokens in the cache before tg decodes (llama-bench's -d).
    depth: { type: 'string', short: 'd', default: '0' },
    dir: { type: 'string', default: '/tmp/strata-bench' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'cache-type': { type: 'string', default: 'f32' },
    // Dawn instance flags separated by ';', e.g. 'enable-dawn-features=skip_validation,disable_robustness'.
    'dawn-flags': { type: 'string', default: '' },
    // Dispatches per queue submission while a step is encoded (the recorder's default when empty).
    'submit-every': { type: 'string', default: '' },
    // Fewest keys per split of the decode attention kernel (WebGpuTuning.decodeAttentionMinKeysPerSplit; the
    // backend's default when empty), e.g. 16, 32 or 64.
    'split-keys': { type: 'string', default: '' },
    // One-row quantized kernels to use instead of the routed ones (WebGpuTuning.quantMatvec), as JSON, e.g.
    // '{"Q4_K":{"layout":"vector","rowsPerWorkgroup":4,"workgroupSize":64}}'.
    'quant-matvec': { type: 'string', default: '' },
    // Products of more than 32 rows with Q8_0/Q4_K weights on f32 activations (WebGpuTuning.int8Prefill false; the
    // default is 8-bit activations, on subgroup matrices where the adapter has them).
    'f32-prefill': { type: 'boolean', default: false },
    // Workgroups the one-row attention kernel aims for (WebGpuTuning.decodeAttentionTargetWorkgroups; the backend's
    // default when empty): more splits at long contexts.
    'attention-workgroups': { type: 'string', default: '' },
    // Products of this many rows or more with Q4_K/Q6_K weights on 8-bit inputs (WebGpuTuning.int8BatchRows; 1: the
    // one-row decode products too; off when empty).
    'int8-batch': { type: 'string', default: '' },
    // Tiles of the int8 prefill GEMM on subgroup matrices (WebGpuTuning.int8GemmTiling) as JSON, e.g.
    // '{"subgroupRows":2,"subgroupCols":2,"matrixRows":4,"matrixCols":2,"stepBlocks":1,"scaling":"block"}'.
    'int8-tiling': { type: 'string', default: '' },
  },
});
const promptTokens = Number(values['n-prompt']);
const generatedTokens = Number(values['n-gen']);
const repetitions = Number(values.repetitions);
mkdirSync(values.dir!, { recursive: true });

const backend = await createWebGpuBackend({
  powerPreference: 'high-performance',
  dawnFlags: values['dawn-flags']!.split(';').filter((flag) => flag !== ''),
  tuning: {
    ...(values['f32-prefill'] ? { int8Prefill: false } : {}),
    ...(values['attention-workgroups'] === ''
      ? {}
      : { decodeAttentionTargetWorkgroups: Number(values['attention-workgroups']) }),
    ...(values['split-keys'] === '' ? {} : { decodeAttentionMinKeysPerSplit: Number(values['split-keys']) }),
    ...(values['int8-batch'] === '' ? {} : { int8BatchRows: Number(values['int8-batch']) }),
    ...(values['int8-tiling'] === ''
      ? {}
      : { int8GemmTiling: JSON.parse(values['int8-tiling']!) as WebGpuTuning['int8GemmTiling'] }),
    ...(values['quant-matvec'] === ''
      ? {}
      : { quantMatvec: JSON.parse(values['quant-matvec']!) as QuantMatvecTunings }),
  },
});
if (values['submit-every'] !== '') backend.runtime.recorder.submitEvery = Number(values['submit-every']);
const device = {
  adapter: backend.device.adapterInfo?.description ?? backend.device.adapterInfo?.device,
  features: backend.features,
  tuning: backend.runtime.tuning,
};
process.stderr.write(`WebGPU device: ${JSON.stringify(device)}\n`);
const results: unknown[] = [];
try {
  for (const model of values.models!.split(',')) {
    for (const type of values.types!.split(',') as FileType[]) {
      const dimensions = MODELS[model];
      if (dimensions === undefined) throw new Error(`unknown model ${model}; known: ${Object.keys(MODELS).join(', ')}`);
      const path = join(values.dir!, `${model}-${type}.gguf`);
      if (!existsSync(path)) await writeRandomGguf(dimensions, type, path);
      const started = performance.now();
      // Files opened here (not by path inside load) so that a bundler includes the Node file sources.
      const pipeline = await TextPipeline.load(await openModelFiles(path), {
        backend,
        contextLength: Math.max(promptTokens, Number(values.depth), 1) + generatedTokens + 1,
        chunkSize: Number(values['chunk-size']),
        cacheType: checkCacheType(values['cache-type']),
      });
      const loadSeconds = (performance.now() - started) / 1000;
      try {
        const measured = await benchmarkPipeline(pipeline, {
          promptTokens,
          generatedTokens,
          repetitions,
          depth: Number(values.depth),
          onRun: (test, run, rate) =>
            process.stderr.write(`${model} ${type} ${test} run ${run}: ${rate.toFixed(1)} tok/s\n`),
        });
        const row = { model, type, loadSeconds, ...measured };
        results.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      } catch (error) {
        results.push({ model, type, error: String(error) });
        process.stderr.write(`${model} ${type} failed: ${String(error)}\n`);
      } finally {
        await pipeline.dispose();
      }
      if (!values.keep) (await import('node:fs/promises')).rm(path, { force: true });
    }
  }
} finally {
  backend.destroy();
}
const report = JSON.stringify({ device, promptTokens, generatedTokens, repetitions, results }, null, 2);
if (values.out !== undefined) writeFileSync(values.out, report);
process.stdout.write(`${report}\n`);
