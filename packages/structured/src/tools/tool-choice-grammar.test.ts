import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { type Tokenizer, tokenizerFromGguf } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { allowedIds } from '../testing/allowed-ids.js';
import { createGrammarMatcher } from '../matcher/grammar-matcher.js';
import { parseToolCalls } from './parse-tool-calls.js';
import { grammarForToolChoice } from './tool-choice-grammar.js';
import type { ToolCallFormat, ToolChoice, ToolDefinition } from './tool-call-types.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

const TOOLS: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: {
        type: 'object',
        properties: { city: { enum: ['Paris', 'Oslo'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
        required: ['city', 'days'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      parameters: { type: 'object', properties: { zone: { enum: ['CET', 'UTC'] } }, required: ['zone'] },
    },
  },
];

describe('grammarForToolChoice', () => {
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    tokenizer = tokenizerFromGguf((await openGgufFile(`${fixtures}vocab/ggml-vocab-gpt-2.gguf`)).metadata);
  });

  /** A seeded walk choosing uniformly among allowed tokens until end of generation. */
  async function walk(format: ToolCallFormat, choice: ToolChoice, seed: number): Promise<string> {
    const matcher = await createGrammarMatcher(tokenizer, grammarForToolChoice(format, TOOLS, choice)!);
    let state = seed;
    const ids: number[] = [];
    for (let step = 0; step < 300; step++) {
      const mask = await matcher.nextTokenBitmask();
      const allowed = allowedIds(mask);
      // Prefer ending once allowed, so walks of the repeated-calls grammar stay short.
      const end = allowed.find((id) => tokenizer.isEndOfGeneration(id));
      state = (state * 1103515245 + 12345) % 2 ** 31;
      const token = end !== undefined && state % 2 === 0 ? end : allowed[state % allowed.length]!;
      expect(matcher.acceptToken(token)).toBe(true);
      if (tokenizer.isEndOfGeneration(token)) break;
      ids.push(token);
    }
    matcher.dispose();
    return tokenizer.decode(ids);
  }

  it.each<[ToolCallFormat, ToolChoice]>([
    ['hermes', 'required'],
    ['llama3', 'required'],
    ['mistral', { type: 'function', function: { name: 'get_time' } }],
    ['apriel', { type: 'function', function: { name: 'get_weather' } }],
    ['deepseek', 'required'],
    ['command-r', { type: 'function', function: { name: 'get_time' } }],
    ['gpt-oss', { type: 'function', function: { name: 'get_weather' } }],
    ['qwen3-coder', 'required'],
  ])(
    '%s with %j: every walk parses into calls of the tools that validate against their schemas',
    async (format, choice) => {
      const ajv = new Ajv();
      for (let seed = 1; seed <= 2; seed++) {
        const text = await walk(format, choice, seed);
        const parsed = parseToolCalls(text, { format });
        expect(parsed.broken_tool_call, text).toBeUndefined();
        expect(parsed.tool_calls.length, text).toBeGreaterThan(0);
        for (const call of parsed.tool_calls) {
          const tool = TOOLS.find((candidate) => candidate.function.name === call.function.name)!;
          if (typeof choice === 'object') expect(call.function.name).toBe(choice.function.name);
          expect(ajv.validate(tool.function.parameters as object, JSON.parse(call.function.arguments)), text).toBe(
            true,
          );
        }
      }
    },
  );

  it("'auto' allows free text and enforces a tool's schema once a call starts", async () => {
    const accepts = async (text: string) => {
      const matcher = await createGrammarMatcher(tokenizer, grammarForToolChoice('hermes', TOOLS, 'auto')!);
      const accepted = tokenizer.encode(text).every((id) => matcher.acceptToken(id));
      matcher.dispose();
      return accepted;
    };
    expect(await accepts('Sure, one moment. ')).toBe(true);
    expect(
      await accepts('Checking.\n<tool_call>\n{"name": "get_time", "arguments": {"zone": "CET"}}\n</tool_call>'),
    ).toBe(true);
    expect(await accepts('<tool_call>\n{"name": "get_time", "arguments": {"zone": "PST"}}')).toBe(false);
    expect(await accepts('<tool_call>\n{"name": "launch_rocket"')).toBe(false);
  });

  it("gives no constraint for 'none' and typed errors for an unknown function or schema keyword", () => {
    expect(grammarForToolChoice('hermes', TOOLS, 'none')).toBeUndefined();
    expect(() => grammarForToolChoice('hermes', TOOLS, { type: 'function', function: { name: 'nope' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const bad: ToolDefinition = { type: 'function', function: { name: 'f', parameters: { type: 'object', not: {} } } };
    let error: unknown;
    try {
      grammarForToolChoice('hermes', [bad], 'required');
    } catch (caught) {
      error = caught;
    }
    expect(StrataError.isInstance(error, 'UNSUPPORTED_SCHEMA')).toBe(true);
  });
});
