import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatTemplate, type ChatTemplateRenderOptions } from './chat-template.js';

/**
 * Parity with Python jinja2 as Hugging Face transformers configures it: every case of every
 * `shared/fixtures/chat-templates/*.expected.json` renders to the exact `output`, or fails where the fixture has an
 * `error` (with the same Python exception class and message); every model's `chat_example` renders to `rendered`.
 */

const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const TEMPLATES = `${FIXTURES}chat-templates/`;
/** The fixtures were rendered with today fixed at 2026-11-22 12:00 (local, naive time, as Python's `now()`). */
const NOW = new Date(2026, 10, 22, 12, 0, 0);

interface FixtureCase {
  readonly input: {
    messages: ChatTemplateRenderOptions['messages'];
    add_generation_prompt: boolean;
    tools?: unknown[];
  };
  readonly ok: boolean;
  readonly output?: string;
  readonly error?: string;
}
interface Fixture {
  readonly context: { bos_token: string; eos_token: string };
  readonly cases: Record<string, FixtureCase>;
}

const templateFiles = readdirSync(TEMPLATES)
  .filter((name) => name.endsWith('.jinja'))
  .sort();
const withExpectations = templateFiles.filter((name) =>
  existsSync(TEMPLATES + name.replace(/\.jinja$/, '.expected.json')),
);
const counts = { passed: 0, total: 0 };

function renderCase(template: ChatTemplate, fixture: Fixture, testCase: FixtureCase): string {
  return template.render({
    messages: testCase.input.messages,
    addGenerationPrompt: testCase.input.add_generation_prompt,
    ...(testCase.input.tools === undefined ? {} : { tools: testCase.input.tools }),
    bosToken: fixture.context.bos_token,
    eosToken: fixture.context.eos_token,
    now: NOW,
  });
}

describe('chat template parity with jinja2 (shared/fixtures/chat-templates)', () => {
  afterAll(() => {
    console.log(`chat template parity: ${counts.passed}/${counts.total} fixture cases pass`);
  });

  it('finds the fixtures', () => {
    expect(withExpectations.length).toBeGreaterThanOrEqual(28);
  });

  for (const file of withExpectations) {
    const fixture = JSON.parse(readFileSync(TEMPLATES + file.replace(/\.jinja$/, '.expected.json'), 'utf8')) as Fixture;
    const template = new ChatTemplate(readFileSync(TEMPLATES + file, 'utf8'));
    for (const [name, testCase] of Object.entries(fixture.cases)) {
      it(`${file} — ${name}`, () => {
        counts.total++;
        if (testCase.ok) {
          expect(renderCase(template, fixture, testCase)).toBe(testCase.output);
        } else {
          let caught: unknown;
          try {
            renderCase(template, fixture, testCase);
          } catch (error) {
            caught = error;
          }
          expect(StrataError.isInstance(caught, 'TEMPLATE_ERROR')).toBe(true);
          const error = caught as StrataError;
          expect(`${String(error.details.kind)}: ${error.message}`).toBe(testCase.error);
        }
        counts.passed++;
      });
    }
  }

  for (const file of templateFiles.filter((name) => !withExpectations.includes(name))) {
    it(`${file} compiles and renders a plain conversation`, () => {
      const template = new ChatTemplate(readFileSync(TEMPLATES + file, 'utf8'));
      const output = template.render({
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello there.' },
        ],
        addGenerationPrompt: true,
        bosToken: '<s>',
        eosToken: '</s>',
        now: NOW,
      });
      expect(output).toContain('Hello there.');
    });
  }
});

describe('model chat examples (shared/fixtures/models/*/expected.json)', () => {
  const models = readdirSync(`${FIXTURES}models`).filter((name) =>
    existsSync(`${FIXTURES}models/${name}/chat_template.jinja`),
  );

  it('finds the models', () => {
    expect(models.length).toBeGreaterThanOrEqual(13);
  });

  for (const model of models) {
    it(`${model}: chat_example renders exactly`, () => {
      const expected = JSON.parse(readFileSync(`${FIXTURES}models/${model}/expected.json`, 'utf8')) as {
        chat_example: { messages: ChatTemplateRenderOptions['messages']; rendered: string };
      };
      const template = new ChatTemplate(readFileSync(`${FIXTURES}models/${model}/chat_template.jinja`, 'utf8'));
      const rendered = template.render({
        messages: expected.chat_example.messages,
        addGenerationPrompt: true,
        now: NOW,
      });
      expect(rendered).toBe(expected.chat_example.rendered);
    });
  }
});
