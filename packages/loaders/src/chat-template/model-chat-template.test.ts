import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openModelFiles } from '../node/model-files.js';
import { loadChatTemplate, specialTokenText } from './model-chat-template.js';

const MODEL = fileURLToPath(new URL('../../../../../shared/fixtures/models/qwen2/', import.meta.url));
const expected = JSON.parse(readFileSync(`${MODEL}expected.json`, 'utf8')) as {
  chat_example: { messages: { role: string; content: string }[]; rendered: string };
};
const config = JSON.parse(readFileSync(`${MODEL}tokenizer_config.json`, 'utf8')) as Record<string, string>;

describe('loadChatTemplate', () => {
  it('reads a Hugging Face directory: chat_template.jinja and the tokens of tokenizer_config.json', async () => {
    const loaded = loadChatTemplate(await openModelFiles(MODEL));
    expect(loaded.resolved.origin).toBe('chat_template.jinja');
    expect([loaded.bosToken, loaded.eosToken]).toEqual([config.bos_token, config.eos_token]);
    const rendered = loaded.template.render({ messages: expected.chat_example.messages, addGenerationPrompt: true });
    expect(rendered).toBe(expected.chat_example.rendered);
  });

  it('reads a GGUF file: tokenizer.chat_template and the BOS/EOS of its vocabulary', async () => {
    const loaded = loadChatTemplate(await openModelFiles(`${MODEL}model-f32.gguf`));
    expect(loaded.resolved.origin).toBe('gguf');
    expect(loaded.eosToken).toBe(config.eos_token);
    const rendered = loaded.template.render({ messages: expected.chat_example.messages, addGenerationPrompt: true });
    expect(rendered).toBe(expected.chat_example.rendered);
    const explicit = loadChatTemplate(await openModelFiles(`${MODEL}model-f32.gguf`), { explicit: '{{ eos_token }}' });
    expect(explicit.template.render({ messages: [] })).toBe(loaded.eosToken);
  });

  it('passes a render budget to the template', async () => {
    const loaded = loadChatTemplate(await openModelFiles(MODEL), { limits: { maxOutput: 10 } });
    expect(() => loaded.template.render({ messages: expected.chat_example.messages })).toThrow(/maxOutput \(10\)/);
  });

  it('reads special tokens written as strings or AddedToken objects', () => {
    expect(specialTokenText('<s>')).toBe('<s>');
    expect(specialTokenText({ content: '</s>', lstrip: false })).toBe('</s>');
    expect(specialTokenText(null)).toBeUndefined();
  });
});
