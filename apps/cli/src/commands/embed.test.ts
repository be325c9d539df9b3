import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { embedCommand } from './embed.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MODEL = join(ROOT, 'packages/pipeline/fixtures/embeddings/bert-mean');
const scratch = mkdtempSync(join(tmpdir(), 'strata-embed-'));

async function runEmbed(...argv: string[]) {
  let out = '';
  let error = '';
  const code = await embedCommand.run(argv, { out: (t) => (out += t), error: (t) => (error += t) });
  return { code, out, error };
}

describe('strata embed', () => {
  it('prints the vectors sentence-transformers gives, as JSON', async () => {
    const expected = JSON.parse(readFileSync(join(MODEL, 'expected.json'), 'utf8')) as {
      batch: { texts: string[]; embeddings: number[][] };
    };
    const input = join(scratch, 'texts.json');
    writeFileSync(input, JSON.stringify(expected.batch.texts));
    for (const model of [MODEL, join(MODEL, 'model-f32.gguf')]) {
      const result = await runEmbed(model, '--input', input, '--backend', 'cpu');
      expect(result.code, result.error).toBe(0);
      const printed = JSON.parse(result.out) as { dimensions: number; embeddings: number[][] };
      expect(printed.dimensions).toBe(expected.batch.embeddings[0]?.length);
      printed.embeddings.forEach((vector, index) => {
        const target = expected.batch.embeddings[index] as number[];
        expect(Math.max(...vector.map((value, column) => Math.abs(value - (target[column] as number))))).toBeLessThan(
          1e-4,
        );
      });
    }
  });

  it('rejects bad arguments with exit code 2 and the usage', async () => {
    for (const argv of [[], [MODEL, '--pooling', 'max'], [MODEL, '--normalize', '--no-normalize']]) {
      const result = await runEmbed(...argv);
      expect(result.code).toBe(2);
      expect(result.error).toContain('Usage: strata embed');
    }
  });
});
