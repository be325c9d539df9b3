import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tokenizeCommand } from './tokenize.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = join(ROOT, '../shared/fixtures');
const scratch = mkdtempSync(join(tmpdir(), 'strata-tokenize-'));

function textsFile(name: string, texts: unknown): string {
  const path = join(scratch, `${name}.json`);
  writeFileSync(path, JSON.stringify(texts));
  return path;
}

async function runTokenize(...argv: string[]) {
  let out = '';
  let error = '';
  const code = await tokenizeCommand.run(argv, { out: (t) => (out += t), error: (t) => (error += t) });
  return { code, out, error };
}

/** The llama.cpp vocabulary test vectors of one GGUF vocabulary (texts and ids). */
function vocabularyCases(name: string): { texts: string[]; ids: number[][] } {
  const raw = readFileSync(join(FIXTURES, `vocab/ggml-vocab-${name}.gguf.inp`), 'utf8');
  const texts = raw.split('\n__ggml_vocab_test__\n');
  if (texts.at(-1) === '') texts.pop();
  const lines = readFileSync(join(FIXTURES, `vocab/ggml-vocab-${name}.gguf.out`), 'utf8').split('\n');
  return { texts, ids: texts.map((_, index) => (lines[index] ?? '').trim().split(' ').filter(Boolean).map(Number)) };
}

describe('strata tokenize', () => {
  it.each(['gpt-2', 'llama-spm'])('tokenizes the %s vocabulary test texts from a GGUF file exactly', async (name) => {
    const { texts, ids } = vocabularyCases(name);
    const result = await runTokenize(
      join(FIXTURES, `vocab/ggml-vocab-${name}.gguf`),
      '--input',
      textsFile(name, texts),
    );
    expect(result.code).toBe(0);
    expect(result.error).toBe('');
    expect(JSON.parse(result.out)).toEqual(ids);
  });

  it('reads a model directory or its tokenizer.json and reproduces expected.json', async () => {
    const folder = join(FIXTURES, 'models/qwen2');
    const expected = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8'));
    const input = textsFile('prompt', [expected.prompt]);
    for (const model of [folder, join(folder, 'tokenizer.json')]) {
      const result = await runTokenize(model, '--input', input);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out)).toEqual([expected.prompt_token_ids_from_tokenizer]);
    }
  });

  it('adds BOS with --add-special and parses control tokens with --parse-special', async () => {
    const model = join(FIXTURES, 'vocab/ggml-vocab-llama-spm.gguf');
    const input = textsFile('special', ['Hi</s>']);
    const plain = JSON.parse((await runTokenize(model, '--input', input)).out)[0];
    const framed = JSON.parse((await runTokenize(model, '--input', input, '--add-special', '--parse-special')).out)[0];
    expect(plain).not.toContain(2);
    expect(framed[0]).toBe(1);
    expect(framed.at(-1)).toBe(2);
  });

  it('rejects bad arguments and input that is not an array of strings with exit code 2', async () => {
    const model = join(FIXTURES, 'vocab/ggml-vocab-gpt-2.gguf');
    expect((await runTokenize(model)).code).toBe(2);
    expect((await runTokenize(model, '--input', textsFile('bad', [1, 2]))).code).toBe(2);
    expect((await runTokenize(model, '--input', textsFile('ok', ['a']), '--bogus')).code).toBe(2);
  });

  it('tokenizes TEXT arguments directly, one JSON array per line, as --input does', async () => {
    const model = join(FIXTURES, 'vocab/ggml-vocab-gpt-2.gguf');
    const texts = ['Hello world', ' tabs\tand spaces'];
    const direct = await runTokenize(model, ...texts);
    expect(direct.code).toBe(0);
    const fromFile = JSON.parse((await runTokenize(model, '--input', textsFile('direct', texts))).out);
    expect(
      direct.out
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual(fromFile);
    expect((await runTokenize(model, 'x', '--input', textsFile('both', ['x']))).code).toBe(2);
  });
});
