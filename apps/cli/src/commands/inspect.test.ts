import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type InspectReport, inspectCommand } from './inspect.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = join(ROOT, '../shared/fixtures');

async function runInspect(...argv: string[]) {
  let out = '';
  let error = '';
  const code = await inspectCommand.run(argv, {
    out: (text) => {
      out += text;
    },
    error: (text) => {
      error += text;
    },
  });
  return { code, out, error };
}

describe('strata inspect', () => {
  it('prints the key metadata and the tensor table of a GGUF file', async () => {
    const { code, out } = await runInspect(join(FIXTURES, 'models/quant-base/model-Q4_K_M.gguf'));
    expect(code).toBe(0);
    expect(out).toMatch(/architecture\s+llama/);
    expect(out).toMatch(/file type\s+Q4_K_M \(15\)/);
    expect(out).toMatch(/tokenizer model\s+gpt2/);
    expect(out).toMatch(/blk\.1\.ffn_down\.weight\s+Q6_K\s+\[256, 512\]\s+107520/);
    expect(out).toMatch(/token_embd\.weight\s+Q4_K\s+\[512, 256\]\s+73728/);
  });

  it('agrees with config.json on every fixture model, in both formats', async () => {
    for (const name of readdirSync(join(FIXTURES, 'models')).filter((model) => model !== 'quant-base')) {
      const config = JSON.parse(readFileSync(join(FIXTURES, 'models', name, 'config.json'), 'utf8'));
      const reports: InspectReport[] = [];
      for (const path of [join(FIXTURES, 'models', name, 'model-f32.gguf'), join(FIXTURES, 'models', name)]) {
        const { code, out } = await runInspect(path, '--json', '--no-tensors');
        expect(code).toBe(0);
        reports.push(JSON.parse(out) as InspectReport);
      }
      const [gguf, huggingface] = reports as [InspectReport, InspectReport];
      expect(gguf.format).toBe('gguf');
      expect(huggingface.format).toBe('huggingface');
      expect(huggingface.architecture).toBe(config.architectures[0]);
      for (const fact of ['layers', 'embedding size', 'attention heads']) {
        expect(gguf.facts[fact], `${name} ${fact}`).toBe(huggingface.facts[fact]);
      }
      expect(gguf.facts.layers).toBe(config.num_hidden_layers);
      expect(gguf.facts['vocabulary size']).toBe(config.vocab_size);
      expect(gguf.tensors).toBeUndefined();
    }
  });

  it('lists metadata on request and summarises arrays', async () => {
    const { code, out } = await runInspect(join(FIXTURES, 'vocab/ggml-vocab-llama-spm.gguf'), '--metadata', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out) as InspectReport;
    expect(report.metadata?.['tokenizer.ggml.tokens']).toBe('[string × 32000]');
    expect(report.facts.tensors).toBe(0);
  });

  it('answers bad arguments with exit code 2 and the usage', async () => {
    for (const argv of [[], ['a', 'b'], ['x.gguf', '--bogus']]) {
      const { code, error } = await runInspect(...argv);
      expect(code).toBe(2);
      expect(error).toContain('Usage: strata inspect');
    }
    await expect(runInspect(join(FIXTURES, 'models/llama/config.json'))).rejects.toMatchObject({
      code: 'INVALID_FILE',
    });
  });
});
