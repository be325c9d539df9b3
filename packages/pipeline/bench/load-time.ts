/**
 * Time from opening a model file to its first generated token, and the host memory high-water mark while loading.
 *
 *   pnpm exec tsx --conditions=@strata/source packages/pipeline/bench/load-time.ts FILE [--backend cpu|webgpu]
 *     [--repetitions N] [--dawn-flags 'enable-dawn-features=…']
 */
import { parseArgs } from 'node:util';
import { createCpuBackend } from '@strata/kernels-cpu';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { TextPipeline } from '@strata/pipeline';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backend: { type: 'string', default: 'webgpu' },
    repetitions: { type: 'string', default: '2' },
    // Dawn instance flags separated by ';', e.g. 'disable-dawn-features=disable_lazy_clear_for_mapped_at_creation_buffer'
    // (Dawn's clear of mapped buffers back on: the backend turns it off by default, `DEFAULT_DAWN_FEATURES`).
    'dawn-flags': { type: 'string', default: '' },
  },
});
const path = positionals[0];
if (path === undefined) throw new Error('usage: load-time.ts FILE [--backend cpu|webgpu]');
const backend =
  values.backend === 'cpu'
    ? createCpuBackend()
    : await createWebGpuBackend({
        powerPreference: 'high-performance',
        dawnFlags: values['dawn-flags']!.split(';').filter((flag) => flag !== ''),
      });
for (let repetition = 0; repetition < Number(values.repetitions); repetition++) {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const baseline = process.memoryUsage().rss;
  const started = performance.now();
  const pipeline = await TextPipeline.load(await openModelFiles(path), { backend, contextLength: 256 });
  const loaded = performance.now();
  await pipeline.generate([1, 2, 3], { maxTokens: 1, ignoreEndOfGeneration: true }).result;
  const firstToken = performance.now();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(
    `load ${((loaded - started) / 1000).toFixed(2)} s, first token at ${((firstToken - started) / 1000).toFixed(2)} s, rss peak +${((peak - baseline) / 2 ** 20).toFixed(0)} MiB\n`,
  );
  await pipeline.dispose();
}
if ('destroy' in backend) (backend as { destroy(): void }).destroy();
