import { partialMarkerLength, type RegionParse } from './call-syntax.js';
import { type ParseToolCallsOptions, parseToolCalls, randomCallId, regionStart } from './parse-tool-calls.js';
import { splitReasoning } from './reasoning.js';
import { SYNTAXES } from './syntaxes.js';
import type { ParsedAssistantMessage } from './tool-call-types.js';

/** One streamed tool-call fragment, as in OpenAI's `choices[0].delta.tool_calls[i]`. */
export interface ToolCallDelta {
  /** Position of the call in the message. */
  readonly index: number;
  /** The call id (first fragment only). */
  readonly id?: string;
  /** `function` (first fragment only). */
  readonly type?: 'function';
  /** The name (first fragment only) and the next piece of the arguments text. */
  readonly function: { readonly name?: string; readonly arguments?: string };
}

/** A streamed piece of an assistant message, shaped like OpenAI's `choices[0].delta`. */
export interface AssistantDelta {
  /** More content for the user. */
  readonly content?: string;
  /** More reasoning. */
  readonly reasoning_content?: string;
  /** Started calls and argument pieces. */
  readonly tool_calls?: readonly ToolCallDelta[];
}

/** Incremental parser of an assistant message; see {@link createToolCallStreamParser}. */
export interface ToolCallStreamParser {
  /** Takes the next generated text; returns the deltas it completes (possibly none while a marker is held back). */
  push(text: string): AssistantDelta[];
  /** Ends the message: the last deltas and the whole message, parsed as {@link parseToolCalls} does. */
  finish(): { readonly deltas: AssistantDelta[]; readonly message: ParsedAssistantMessage };
}

interface View {
  readonly reasoning: string;
  readonly content: string;
  readonly region: RegionParse | undefined;
}

/**
 * A streaming tool-call parser for one assistant message (OpenAI's streaming shape): text before a call streams as
 * `content` (a possible start marker is held back until it is decided), reasoning as `reasoning_content`, and each call
 * as a first fragment with `id`, `type` and `function.name`, then its arguments text in pieces as the model writes them
 * (XML formats, whose arguments are assembled from parameters, send them whole when the call ends). The concatenated
 * fragments equal the `tool_calls` of the final message. A call that turns out broken has streamed fragments; the final
 * message then has `broken_tool_call` and the text as content (the rest of which is sent as a last content delta).
 */
export function createToolCallStreamParser(options: ParseToolCallsOptions): ToolCallStreamParser {
  const syntax = SYNTAXES[options.format];
  const generateId = options.generateId ?? randomCallId;
  const callsEnabled = options.toolChoice !== 'none';
  let text = '';
  let emittedReasoning = '';
  let emittedContent = '';
  const started: { id: string; emittedArguments: number }[] = [];

  const view = (final: boolean): View => {
    const split =
      options.format === 'gpt-oss'
        ? { reasoning: '', content: text, closed: true }
        : splitReasoning(text, options.startsInReasoning, final);
    if (!split.closed || !callsEnabled)
      return { reasoning: split.reasoning, content: split.closed ? split.content : '', region: undefined };
    const start = regionStart(syntax, split.content);
    if (start === undefined) {
      let held = 0;
      if (!final) {
        for (const marker of syntax.starts ?? []) {
          const trimmed = split.content.trimStart();
          if (marker.atStart === true) {
            if (marker.text.startsWith(trimmed)) held = Math.max(held, split.content.length);
          } else held = Math.max(held, partialMarkerLength(split.content, marker.text));
        }
      }
      return {
        reasoning: split.reasoning,
        content: split.content.slice(0, split.content.length - held),
        region: undefined,
      };
    }
    const region = syntax.parse(split.content.slice(start), final);
    return {
      reasoning: split.reasoning + region.reasoning,
      content: split.content.slice(0, start) + region.content,
      region,
    };
  };

  const deltasOf = (current: View): AssistantDelta[] => {
    const deltas: AssistantDelta[] = [];
    if (current.reasoning.length > emittedReasoning.length && current.reasoning.startsWith(emittedReasoning)) {
      deltas.push({ reasoning_content: current.reasoning.slice(emittedReasoning.length) });
      emittedReasoning = current.reasoning;
    }
    if (current.content.length > emittedContent.length && current.content.startsWith(emittedContent)) {
      deltas.push({ content: current.content.slice(emittedContent.length) });
      emittedContent = current.content;
    }
    const fragments: ToolCallDelta[] = [];
    current.region?.calls.forEach((call, index) => {
      if (call.name === undefined || index > started.length) return;
      if (index === started.length) {
        started.push({ id: call.id ?? generateId(), emittedArguments: 0 });
        fragments.push({
          index,
          id: started[index]!.id,
          type: 'function',
          function: { name: call.name, arguments: '' },
        });
      }
      const state = started[index]!;
      if (call.argumentsText.length > state.emittedArguments) {
        fragments.push({ index, function: { arguments: call.argumentsText.slice(state.emittedArguments) } });
        state.emittedArguments = call.argumentsText.length;
      }
    });
    if (fragments.length > 0) deltas.push({ tool_calls: fragments });
    return deltas;
  };

  return {
    push(piece) {
      text += piece;
      return deltasOf(view(false));
    },
    finish() {
      const last = view(true);
      const parsed = parseToolCalls(text, options);
      // The streamed ids win (a format may write its own id after the arguments, when the call has already started).
      const message: ParsedAssistantMessage = {
        ...parsed,
        tool_calls: parsed.tool_calls.map((call, index) => ({ ...call, id: started[index]?.id ?? call.id })),
      };
      if (message.broken_tool_call === true) {
        // The calls' text becomes content: send what the user has not seen of it.
        const deltas = deltasOf({ reasoning: last.reasoning, content: emittedContent, region: undefined });
        const rest = message.content.startsWith(emittedContent.trimStart())
          ? message.content.slice(emittedContent.trimStart().length)
          : message.content;
        return { deltas: rest === '' ? deltas : [...deltas, { content: rest }], message };
      }
      return { deltas: deltasOf(last), message };
    },
  };
}
