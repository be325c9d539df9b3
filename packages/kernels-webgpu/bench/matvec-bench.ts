// The WebGPU weight-kernel benchmark: mat-vec bandwidth per weight type and shape (bytes of weights read per second),
// a tuning sweep, several input rows, the tiled prefill mat-mul, raw read ceilings and attention decode time.
// Run: `pnpm bench` in packages/kernels-webgpu (tsx), or bundled for the GPU machine (see BENCHMARKS.md).
// Sections: matvec-harness.ts (the harness), weight-types-section.ts, tiled-section.ts, quant-section.ts,
// batch-section.ts, int8-section.ts (with int8-harness.ts), attention-section.ts; flags and budget in bench-settings.ts.
import { DEFAULT_MATVEC_TUNING } from '../src/kernels/matmul/matvec-shader.js';
import { DEFAULT_WIDE_TUNING } from '../src/kernels/matmul/wide-matvec-shader.js';
import { openRawDevice } from '../src/wgsl/dequantize/raw-device.js';
import { attentionDecode } from './attention-section.js';
import { batchSection } from './batch-section.js';
import { BATCH_ONLY, elapsed, gbps, INT8_ONLY, log, QUANT_ONLY, QUICK, TILED_ONLY } from './bench-settings.js';
import { INT8_DEVICE_FEATURES, withUnsafeApis } from './int8-harness.js';
import { int8Section } from './int8-section.js';
import { Bench, tuningName } from './matvec-harness.js';
import { quantSection } from './quant-section.js';
import { tiledPrefillSection, tiledSection } from './tiled-section.js';
import { weightTypesSection } from './weight-types-section.js';

async function main(): Promise<void> {
  // DAWN_FLAGS (';'-separated) adds instance flags, e.g. 'enable-dawn-features=disable_robustness'.
  const extraFlags = (process.env.DAWN_FLAGS ?? '').split(';').filter((flag) => flag !== '');
  const flags = ['disable-dawn-features=timestamp_quantization', ...extraFlags];
  const raw = INT8_ONLY ? await openRawDevice(withUnsafeApis(flags), INT8_DEVICE_FEATURES) : await openRawDevice(flags);
  if (raw === undefined) throw new Error('no WebGPU adapter');
  const bench = new Bench(raw);
  let deviceErrors = 0;
  raw.device.onuncapturederror = (event) => {
    if (deviceErrors++ < 3) log(`GPU ERROR: ${(event as GPUUncapturedErrorEvent).error.message}`);
  };
  const limits = raw.device.limits;
  log(`# strata WebGPU weight kernels benchmark${QUICK ? ' (quick)' : ''}`);
  log(
    `features: ${[...raw.features].join(', ') || 'none'}; subgroup sizes: ${JSON.stringify(raw.subgroupSizes)}; maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}; timing: ${bench.timestamps ? 'timestamp queries' : 'wall time'}`,
  );
  log(`default tunings: one row ${tuningName(DEFAULT_WIDE_TUNING)}; 2-8 rows ${tuningName(DEFAULT_MATVEC_TUNING)}`);

  log('\n## Raw read ceiling (1 GiB, grid-stride XOR reduction)');
  for (const vector of [true, false]) {
    const bytes = QUICK ? 64 << 20 : 1 << 30;
    const timing = await bench.rawRead(bytes, vector);
    log(
      `- ${vector ? 'vec4<u32>' : 'u32'} loads: ${gbps(bytes, timing)} GB/s (wall ${(bytes / timing.wallSeconds / 1e9).toFixed(0)})`,
    );
  }

  if (INT8_ONLY) {
    await int8Section(bench);
    if (deviceErrors > 0) log(`\n${deviceErrors} GPU errors: the figures above are not valid`);
    raw.device.destroy();
    log(`\ntotal ${elapsed().toFixed(0)} s`);
    return;
  }
  if (BATCH_ONLY) {
    await batchSection(bench);
    raw.device.destroy();
    log(`\ntotal ${elapsed().toFixed(0)} s`);
    return;
  }
  if (TILED_ONLY) {
    await tiledSection(bench);
    raw.device.destroy();
    return;
  }
  if (QUANT_ONLY) {
    await quantSection(bench);
    raw.device.destroy();
    log(`\ntotal ${elapsed().toFixed(0)} s`);
    return;
  }
  await weightTypesSection(bench);
  await tiledPrefillSection(bench);

  if (deviceErrors > 0) log(`\n${deviceErrors} GPU errors: the figures above are not valid`);
  raw.device.destroy();
  await attentionDecode();
  log(`\ntotal ${elapsed().toFixed(0)} s`);
}

await main();
process.exit(0);
