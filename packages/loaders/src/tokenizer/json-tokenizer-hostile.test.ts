import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { tokenizerFromJson } from './json-tokenizer.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const text = readFileSync(`${fixtures}models/llama/tokenizer.json`, 'utf8');

/** A fresh copy of a real tokenizer.json to break in one place. */
function base(): Record<string, unknown> & { model: { vocab: Record<string, number> } } {
  return JSON.parse(text) as never;
}

function failure(load: () => unknown): StrataError {
  try {
    load();
  } catch (error) {
    if (StrataError.isInstance(error)) return error;
    throw new Error(`expected a StrataError, got ${String(error)}`);
  }
  throw new Error('expected the load to fail');
}

describe('tokenizer.json from a stranger', () => {
  it('rejects a vocabulary id far past the real size at once, naming the id', () => {
    const json = base();
    json.model.vocab.hostile = 100_000_000;
    const started = performance.now();
    const error = failure(() => tokenizerFromJson(json));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error.code).toBe('TOKENIZER_ERROR');
    expect(error.message).toContain('100000000');
    expect(error.details).toMatchObject({ id: 100_000_000 });
  });

  it('rejects an added token id far past the real size', () => {
    const json = base();
    json.added_tokens = [...(json.added_tokens as unknown[]), { id: 1e9, content: '<x>', special: true }];
    expect(failure(() => tokenizerFromJson(json)).message).toContain('1000000000');
  });

  it('tolerates a few unused ids between the vocabulary and its added tokens', () => {
    const json = base();
    json.added_tokens = [...(json.added_tokens as unknown[]), { id: 500, content: '<late>', special: true }];
    const tokenizer = tokenizerFromJson(json);
    expect(tokenizer.vocabularySize).toBe(501);
    expect(tokenizer.tokenToPiece(500)).toBe('<late>');
  });

  it('keeps working when two pieces share an id (found by the fuzzer)', () => {
    const json = base();
    json.model.vocab.duplicate = 290;
    const tokenizer = tokenizerFromJson(json);
    for (let id = 0; id < tokenizer.vocabularySize; id++) expect(tokenizer.tokenToBytes(id)).toBeInstanceOf(Uint8Array);
  });

  it.each([
    ['invalid JSON text', () => tokenizerFromJson('{'), 'not valid JSON'],
    ['a document without a model', () => tokenizerFromJson({}), 'model should be an object'],
    ['a string vocabulary', () => tokenizerFromJson({ ...base(), model: { ...base().model, vocab: 'x' } }), 'vocab'],
    ['a negative id', () => tokenizerFromJson({ ...base(), model: { ...base().model, vocab: { a: -1 } } }), '"a"'],
    [
      'merges that are not a list',
      () => tokenizerFromJson({ ...base(), model: { ...base().model, merges: 3 } }),
      'merges',
    ],
    [
      'an added token without an id',
      () => tokenizerFromJson({ ...base(), added_tokens: [{ content: 'x' }] }),
      'added_tokens[0].id',
    ],
    [
      'a generation_config eos_token_id that is an object',
      () => tokenizerFromJson(base(), {}, { eos_token_id: {} as never }),
      'generation_config.json: eos_token_id',
    ],
    [
      'a TemplateProcessing whose single is a string',
      () => tokenizerFromJson({ ...base(), post_processor: { type: 'TemplateProcessing', single: 'x' } }),
      'post_processor.single',
    ],
    [
      'a RobertaProcessing without sep and cls',
      () => tokenizerFromJson({ ...base(), post_processor: { type: 'RobertaProcessing' } }),
      'post_processor.sep',
    ],
    [
      'a BertProcessing whose cls id is past the vocabulary',
      () =>
        tokenizerFromJson({
          ...base(),
          post_processor: { type: 'BertProcessing', sep: ['<|im_end|>', 2], cls: ['<|endoftext|>', 99_999_999] },
        }),
      'post_processor.cls[1]',
    ],
    [
      'a TemplateProcessing that adds a token the vocabulary lacks (found by the fuzzer)',
      () =>
        tokenizerFromJson({
          ...base(),
          post_processor: {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: '<nope>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          },
        }),
      'post_processor.single[0].SpecialToken.id should be a token of the vocabulary',
    ],
    [
      'an unk_token the vocabulary lacks (found by the fuzzer)',
      () => tokenizerFromJson({ ...base(), model: { ...base().model, unk_token: '<nope>' } }),
      'model.unk_token should be a token of the vocabulary',
    ],
    [
      'an unknown post-processor',
      () => tokenizerFromJson({ ...base(), post_processor: { type: 'Nope' } }),
      'post_processor.type',
    ],
    [
      'a pre-tokenizer regex that does not compile',
      () =>
        tokenizerFromJson({
          ...base(),
          pre_tokenizer: { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' },
        }),
      'Invalid regular expression',
    ],
    ['a bos_token that is a number', () => tokenizerFromJson(base(), { bos_token: 5 as never }), 'bos_token'],
    [
      'add_bos_token that is a string',
      () => tokenizerFromJson(base(), { add_bos_token: 'yes' as never }),
      'add_bos_token',
    ],
    [
      'decoders nested past the depth limit',
      () => {
        let decoder: unknown = { type: 'ByteLevel' };
        for (let depth = 0; depth < 10_000; depth++) decoder = { type: 'Sequence', decoders: [decoder] };
        return tokenizerFromJson({ ...base(), decoder });
      },
      'decoder',
    ],
  ])('raises TOKENIZER_ERROR for %s', (_name, load, fragment) => {
    const error = failure(load);
    expect(error.code).toBe('TOKENIZER_ERROR');
    expect(error.message).toContain(fragment);
  });
});
