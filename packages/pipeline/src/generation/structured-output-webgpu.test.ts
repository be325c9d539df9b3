import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadTextPipeline } from '../load/load-text-pipeline.js';
import { useWebGpuBackend } from '../testing/webgpu-backend.js';

// Structured output on WebGPU (lavapipe in CI), kept short: the allowed-token bitmask goes to the device's sampling
// kernel. Skips, saying why, only when Dawn finds no adapter; STRATA_REQUIRE_WEBGPU=1 turns that into a failure.
const FIXTURES = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;
const webGpu = useWebGpuBackend();

const SCHEMA = {
  type: 'object',
  properties: {
    kind: { enum: ['cat', 'dog'] },
    age: { type: 'integer', minimum: 0, maximum: 30 },
    tags: { type: 'array', items: { enum: ['a', 'b'] }, minItems: 1, maxItems: 2 },
    owner: { type: 'object', properties: { vip: { type: 'boolean' } }, required: ['vip'] },
  },
  required: ['kind', 'age', 'tags', 'owner'],
} as const;

describe('structured output on WebGPU', () => {
  it('50 seeded samples at temperature 1 under a JSON schema validate with ajv', async (context) => {
    const backend = webGpu(context);
    const pipeline = await loadTextPipeline(`${FIXTURES}llama`, { backend, contextLength: 96, chunkSize: 8 });
    const validate = new Ajv().compile(SCHEMA);
    for (let seed = 1; seed <= 50; seed++) {
      const result = await pipeline.generate('Pet:', {
        temperature: 1,
        seed,
        maxTokens: 80,
        responseFormat: { type: 'json_schema', json_schema: { name: 'pet', schema: SCHEMA } },
      }).result;
      expect(result.finishReason, result.text).toBe('stop-token');
      expect(validate(JSON.parse(result.text)), result.text).toBe(true);
    }
    pipeline.dispose();
  });
});
