import { defineConfig } from 'tsup';

/** One entry per family so `@strata/models/<family>` resolves to `dist/<family>/index.js`. */
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'llama/index': 'src/llama/index.ts',
    'qwen2/index': 'src/qwen2/index.ts',
    'qwen3/index': 'src/qwen3/index.ts',
    'qwen3-moe/index': 'src/qwen3-moe/index.ts',
  },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
});
