import { defineConfig } from 'tsup';

/** One entry per family so `@strata/models/<family>` resolves to `dist/<family>/index.js`. */
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'llama/index': 'src/llama/index.ts',
    'qwen2/index': 'src/qwen2/index.ts',
    'qwen3/index': 'src/qwen3/index.ts',
    'qwen3-moe/index': 'src/qwen3-moe/index.ts',
    'phi2/index': 'src/phi2/index.ts',
    'phi3/index': 'src/phi3/index.ts',
    'starcoder2/index': 'src/starcoder2/index.ts',
    'gemma/index': 'src/gemma/index.ts',
    'gemma2/index': 'src/gemma2/index.ts',
    'gemma3/index': 'src/gemma3/index.ts',
  },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
});
