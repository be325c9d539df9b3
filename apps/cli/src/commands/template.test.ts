import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { templateCommand } from './template.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = join(ROOT, '../shared/fixtures');
const TEMPLATES = join(FIXTURES, 'chat-templates');
const scratch = mkdtempSync(join(tmpdir(), 'strata-template-'));

interface Fixture {
  readonly context: Record<string, string>;
  readonly cases: Record<string, { input: Record<string, unknown>; output?: string; error?: string }>;
}

/** Writes the CASE.json of one fixture case (input plus the fixture's bos/eos tokens); returns its path. */
function caseFile(model: string, name: string): { path: string; output?: string; error?: string } {
  const fixture = JSON.parse(readFileSync(join(TEMPLATES, `${model}.expected.json`), 'utf8')) as Fixture;
  const testCase = fixture.cases[name]!;
  const path = join(scratch, `${model}-${name}.json`);
  writeFileSync(path, JSON.stringify({ ...testCase.input, ...fixture.context }));
  return { path, output: testCase.output, error: testCase.error };
}

async function runTemplate(...argv: string[]) {
  let out = '';
  let error = '';
  const code = await templateCommand.run(argv, { out: (t) => (out += t), error: (t) => (error += t) });
  return { code, out, error };
}

describe('strata template', () => {
  it('renders a .jinja file exactly as the fixture (no newline added)', async () => {
    const testCase = caseFile('Qwen-Qwen2.5-7B-Instruct', 'tools');
    const result = await runTemplate(join(TEMPLATES, 'Qwen-Qwen2.5-7B-Instruct.jinja'), '--input', testCase.path);
    expect(result).toEqual({ code: 0, out: testCase.output, error: '' });
  });

  it('uses --now for strftime_now', async () => {
    const testCase = caseFile('meta-llama-Llama-3.2-3B-Instruct', 'user-only');
    const template = join(TEMPLATES, 'meta-llama-Llama-3.2-3B-Instruct.jinja');
    const fixed = await runTemplate(template, '--input', testCase.path, '--now', '2026-11-22T12:00:00');
    expect(fixed.out).toBe(testCase.output);
    const other = await runTemplate(template, '--input', testCase.path, '--now', '2025-01-02T08:00:00');
    expect(other.out).toContain('Today Date: 02 Jan 2025');
  });

  it('reads a model folder and a GGUF file, with their special tokens', async () => {
    const model = join(FIXTURES, 'models/qwen2');
    const expected = JSON.parse(readFileSync(join(model, 'expected.json'), 'utf8')) as {
      chat_example: { messages: unknown[]; rendered: string };
    };
    const path = join(scratch, 'chat-example.json');
    writeFileSync(path, JSON.stringify({ messages: expected.chat_example.messages, add_generation_prompt: true }));
    expect((await runTemplate(model, '--input', path)).out).toBe(expected.chat_example.rendered);
    expect((await runTemplate(join(model, 'model-f32.gguf'), '--input', path)).out).toBe(
      expected.chat_example.rendered,
    );
    const tokens = join(scratch, 'tokens.jinja');
    writeFileSync(tokens, '[{{ bos_token }}|{{ eos_token }}]');
    const config = JSON.parse(readFileSync(join(model, 'tokenizer_config.json'), 'utf8')) as Record<string, string>;
    expect((await runTemplate(tokens, '--input', path)).out).toBe('[|]');
    const withTokens = join(scratch, 'with-tokens.json');
    writeFileSync(withTokens, JSON.stringify({ messages: [], bos_token: config.bos_token, eos_token: 'E' }));
    expect((await runTemplate(tokens, '--input', withTokens)).out).toBe(`[${config.bos_token}|E]`);
  });

  it('exits with 3 and the template message on stderr when the template raises', async () => {
    const testCase = caseFile('mistralai-Mistral-Nemo-Instruct-2407', 'tools');
    const result = await runTemplate(
      join(TEMPLATES, 'mistralai-Mistral-Nemo-Instruct-2407.jinja'),
      '--input',
      testCase.path,
    );
    expect(result.code).toBe(3);
    expect(result.out).toBe('');
    expect(result.error).toBe(`${testCase.error}\n`);
  });

  it('exits with 2 on bad arguments', async () => {
    expect((await runTemplate('x.jinja')).code).toBe(2);
    expect((await runTemplate('x.jinja', '--input', 'c.json', '--now', 'yesterday')).code).toBe(2);
  });

  it('as a process: exact stdout, and exit code 3 on a template error', async () => {
    const tsx = join(ROOT, 'node_modules/.bin/tsx');
    const main = join(ROOT, 'apps/cli/src/main.ts');
    const ok = caseFile('HuggingFaceTB-SmolLM3-3B', 'multi-turn-system');
    const template = join(TEMPLATES, 'HuggingFaceTB-SmolLM3-3B.jinja');
    const run = promisify(execFile);
    const rendered = await run(tsx, ['--conditions=@strata/source', main, 'template', template, '--input', ok.path], {
      cwd: ROOT,
    });
    expect(rendered.stdout).toBe(ok.output);
    const failing = caseFile('Kimi-K2-Thinking', 'tools');
    const args = ['--conditions=@strata/source', main, 'template', join(TEMPLATES, 'Kimi-K2-Thinking.jinja')];
    const failure = await run(tsx, [...args, '--input', failing.path], { cwd: ROOT }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(3);
    expect(failure?.stdout).toBe('');
    expect(failure?.stderr).toBe(`${failing.error}\n`);
  });
});
