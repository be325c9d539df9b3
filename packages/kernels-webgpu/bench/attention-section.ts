// The mat-vec benchmark's attention section: decode attention time over growing contexts, through the backend.
import { createWebGpuBackend } from '../src/webgpu-backend.js';
import { log, overBudget, QUICK } from './bench-settings.js';

/** Times decode attention (one query row) over contexts of 512 to 32768 keys, 50 calls per submit. */
export async function attentionDecode(): Promise<void> {
  const backend = await createWebGpuBackend({ powerPreference: 'high-performance' });
  try {
    const heads = 32;
    const keyValueHeads = 8;
    const headDimensions = 128;
    log(
      '\n## Attention decode (1 query row, 32 heads, 8 KV heads, head size 128, f32 cache), one submit of 50 calls, wall time',
    );
    log('| context | µs per call | KV bytes read per call | effective GB/s |');
    log('|---:|---:|---:|---:|');
    for (const context of QUICK ? [512, 2048] : [512, 1024, 2048, 4096, 8192, 16384, 32768]) {
      if (overBudget()) break;
      const keys = backend.zeros([context, keyValueHeads * headDimensions]);
      const values = backend.zeros([context, keyValueHeads * headDimensions]);
      const queries = backend.upload(
        Float32Array.from({ length: heads * headDimensions }, (_, i) => Math.sin(i)),
        [1, heads * headDimensions],
      );
      const options = {
        heads,
        keyValueHeads,
        headDimensions,
        firstPosition: context - 1,
        scale: 1 / Math.sqrt(headDimensions),
      };
      const cache = { keys, values };
      await backend.read(backend.attention(queries, cache, options));
      const calls = 50;
      const start = performance.now();
      for (let call = 0; call < calls; call++) backend.dispose(backend.attention(queries, cache, options));
      await backend.flush();
      const perCall = (performance.now() - start) / 1000 / calls;
      const kvBytes = 2 * context * keyValueHeads * headDimensions * 4;
      log(
        `| ${context} | ${(perCall * 1e6).toFixed(1)} | ${(kvBytes / 1e6).toFixed(1)} MB | ${(kvBytes / perCall / 1e9).toFixed(0)} |`,
      );
      backend.dispose(keys);
      backend.dispose(values);
      backend.dispose(queries);
    }
  } catch (error) {
    log(`attention benchmark failed: ${String(error)}`);
  } finally {
    backend.destroy();
  }
}
