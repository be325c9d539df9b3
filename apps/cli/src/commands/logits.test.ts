import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { logitsCommand } from './logits.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MODELS = join(ROOT, '../shared/fixtures/models');

async function runLogits(...argv: string[]) {
  let out = '';
  let error = '';
  const code = await logitsCommand.run(argv, { out: (text) => (out += text), error: (text) => (error += text) });
  return { code, out, error };
}

describe('strata logits', () => {
  it.each(['qwen2', 'qwen2/model-f32.gguf'])(
    'prints transformers-matching logits for every position of %s',
    async (model) => {
      const expected = JSON.parse(readFileSync(join(MODELS, 'qwen2/expected.json'), 'utf8'));
      const ids = (expected.input_ids as number[]).slice(0, 5);
      const result = await runLogits(join(MODELS, model), '--ids', ids.join(','), '--backend', 'cpu');
      expect(result.code, result.error).toBe(0);
      const { logits } = JSON.parse(result.out) as { logits: number[][] };
      expect(logits).toHaveLength(5);
      let maximum = 0;
      logits.forEach((row, position) => {
        row.forEach((value, index) => {
          maximum = Math.max(maximum, Math.abs(value - expected.logits[position][index]));
        });
      });
      expect(maximum).toBeLessThan(1e-3);
    },
  );

  it('rejects bad ids and a missing --ids with exit code 2', async () => {
    expect((await runLogits(join(MODELS, 'qwen2'), '--ids', '1,x')).code).toBe(2);
    expect((await runLogits(join(MODELS, 'qwen2'))).code).toBe(2);
  });
});
