import { partialMarkerLength } from './call-syntax.js';

/** Opening and closing markers of reasoning, as the chat templates write them. */
export const REASONING_MARKERS: readonly (readonly [string, string])[] = [
  ['<think>', '</think>'],
  ['<|START_THINKING|>', '<|END_THINKING|>'],
  ['[THINK]', '[/THINK]'],
  ['◁think▷', '◁/think▷'],
  ['<seed:think>', '</seed:think>'],
];

/** Reasoning split from the content of a message, and whether the reasoning ended. */
export interface ReasoningSplit {
  /** The reasoning text (without markers). */
  readonly reasoning: string;
  /** The rest. */
  readonly content: string;
  /** False while the reasoning has not been closed (streaming, or a truncated message). */
  readonly closed: boolean;
}

/**
 * Splits leading reasoning off a message: text between an opening marker at the start (after whitespace) and its
 * closing marker. `startsInReasoning`: the prompt already opened it (DeepSeek-R1, Qwen3 thinking templates end the
 * generation prompt with `<think>\n`), so the message is reasoning up to the first closing marker. `final`: the text is
 * complete (a closing marker still being typed is not held back).
 */
export function splitReasoning(text: string, startsInReasoning = false, final = true): ReasoningSplit {
  const trimmed = text.trimStart();
  for (const [open, close] of REASONING_MARKERS) {
    const opened = trimmed.startsWith(open);
    if (!opened && !(startsInReasoning && open === '<think>')) continue;
    const body = opened ? trimmed.slice(open.length) : text;
    const end = body.indexOf(close);
    if (end === -1) {
      const held = final ? 0 : partialMarkerLength(body, close);
      return { reasoning: body.slice(0, body.length - held), content: '', closed: false };
    }
    return { reasoning: body.slice(0, end), content: body.slice(end + close.length).replace(/^\s+/, ''), closed: true };
  }
  // While streaming, leading whitespace and a possible opening marker wait until they are decided.
  if (!final && REASONING_MARKERS.some(([open]) => open.startsWith(trimmed))) {
    return { reasoning: '', content: '', closed: false };
  }
  return { reasoning: '', content: text, closed: true };
}
