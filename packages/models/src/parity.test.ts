import { readFileSync } from 'node:fs';
import { type Backend, WEIGHT_TYPES } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from './load-model.js';
import { forwardLogits } from './builder/forward-logits.js';

// One table: family × format × reference × backend. References and tolerances: ../shared/fixtures/README.md.
const fixtures = '../shared/fixtures/models';

interface ParityCase {
  /** Fixture folder. */
  readonly fixture: string;
  /** What is loaded: the Hugging Face directory or a GGUF file in it. */
  readonly model: string;
  /** Reference file in the fixture folder. */
  readonly reference: string;
  /** Max abs difference allowed. */
  readonly tolerance: number;
  /** Compare only the first rows (the GGUF of mistral-swa carries no window: it matches transformers up to 8). */
  readonly rows?: number;
}

const FAMILIES = [
  'llama',
  'llama-tied',
  'mistral-swa',
  'mixtral',
  'qwen2',
  'qwen3',
  'qwen3moe',
  'phi2',
  'phi3',
  'starcoder2',
  'gemma',
  'gemma2',
  'gemma3',
];
// One quant-base fixture per weight type (the F32 one is named in lower case), plus llama.cpp's Q4_K_M mix of types.
const QUANT_TYPES = [...WEIGHT_TYPES.map((type) => (type === 'F32' ? 'f32' : type)), 'Q4_K_M'];

const FAMILY_CASES: ParityCase[] = FAMILIES.flatMap((fixture) => [
  { fixture, model: '', reference: 'expected.json', tolerance: 1e-3 },
  {
    fixture,
    model: 'model-f32.gguf',
    reference: 'expected.json',
    tolerance: 1e-3,
    ...(fixture === 'mistral-swa' ? { rows: 8 } : {}),
  },
  { fixture, model: 'model-f32.gguf', reference: 'expected-llamacpp-f32.json', tolerance: 2.5e-2 },
]);
const QUANT_CASES: ParityCase[] = [
  { fixture: 'quant-base', model: '', reference: 'expected.json', tolerance: 1e-3 },
  ...QUANT_TYPES.map((type) => ({
    fixture: 'quant-base',
    model: `model-${type}.gguf`,
    reference: `expected-dequant-${type}.json`,
    tolerance: 2e-3,
  })),
];

interface BackendRow {
  readonly name: string;
  readonly create: () => Promise<Backend | string>;
  readonly cases: readonly ParityCase[];
}

async function webGpu(): Promise<Backend | string> {
  try {
    return await createWebGpuBackend();
  } catch (error) {
    if (process.env.STRATA_REQUIRE_WEBGPU === '1') throw error;
    return `no WebGPU adapter: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * lavapipe is slow: WebGPU runs one case per feature (each format, window, bias, QK norm, both MoE layouts, a k-quant;
 * parallel block, LayerNorm and partial rotary, fused QKV and gate/up, plain GELU MLP, softcaps and post-norms, two RoPE
 * bases).
 */
const WEBGPU_CASES = [
  ['llama', ''],
  ['llama', 'model-f32.gguf'],
  ['mistral-swa', ''],
  ['qwen2', 'model-f32.gguf'],
  ['qwen3', ''],
  ['mixtral', 'model-f32.gguf'],
  ['qwen3moe', ''],
  ['quant-base', 'model-Q4_K.gguf'],
  ['phi2', 'model-f32.gguf'],
  ['phi3', ''],
  ['starcoder2', ''],
  ['gemma2', ''],
  ['gemma3', 'model-f32.gguf'],
].map(
  ([fixture, model]) =>
    [...FAMILY_CASES, ...QUANT_CASES].find(
      (item) => item.fixture === fixture && item.model === model && !item.reference.includes('llamacpp'),
    ) as ParityCase,
);

const BACKENDS: BackendRow[] = [
  { name: 'cpu', create: async () => createCpuBackend(), cases: [...FAMILY_CASES, ...QUANT_CASES] },
  { name: 'webgpu', create: webGpu, cases: WEBGPU_CASES },
];

const measured: string[] = [];
afterAll(() => {
  if (measured.length > 0) console.log(`max |Δlogit| per case:\n${measured.join('\n')}`);
});

function readReference(item: ParityCase): { ids: number[]; logits: number[][] } {
  const reference = JSON.parse(readFileSync(`${fixtures}/${item.fixture}/${item.reference}`, 'utf8'));
  return { ids: reference.input_ids, logits: reference.logits };
}

for (const row of BACKENDS) {
  describe(`logits parity on ${row.name}`, () => {
    let backend: Backend | string | undefined;
    const acquire = async (): Promise<Backend | string> => {
      backend ??= await row.create();
      return backend;
    };
    afterAll(() => {
      if (typeof backend === 'object' && 'destroy' in backend) (backend as { destroy(): void }).destroy();
    });

    it.for(
      row.cases.map((item) => [`${item.fixture}/${item.model || '(safetensors)'} vs ${item.reference}`, item] as const),
    )('%s', async ([, item], context) => {
      const acquired = await acquire();
      if (typeof acquired === 'string') return context.skip(acquired);
      const { ids, logits: expected } = readReference(item);
      const files = await openModelFiles(`${fixtures}/${item.fixture}/${item.model}`);
      const model = await loadModel(files, acquired);
      const logits = await forwardLogits(model, acquired, ids);
      model.dispose();
      const rows = item.rows ?? ids.length;
      let maximum = 0;
      for (let position = 0; position < rows; position++) {
        const actual = logits[position] as Float32Array;
        const reference = expected[position] as number[];
        expect(actual.length).toBe(reference.length);
        for (let index = 0; index < reference.length; index++) {
          maximum = Math.max(maximum, Math.abs((actual[index] as number) - (reference[index] as number)));
        }
      }
      measured.push(
        `${row.name.padEnd(7)} ${item.fixture}/${item.model || '(safetensors)'} vs ${item.reference}: ${maximum.toExponential(2)}`,
      );
      expect(maximum).toBeLessThanOrEqual(item.tolerance);
    });
  });
}
