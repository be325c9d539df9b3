import type { CallSyntax, PartialCall, RegionParse } from './call-syntax.js';
import { scanCallObject, scanJsonValue } from './json-scan.js';

const skipSpace = (text: string, position: number): number => {
  let index = position;
  while (index < text.length && /\s/.test(text[index]!)) index++;
  return index;
};

function callOf(text: string, start: number): { call: PartialCall; end: number | undefined } {
  const scanned = scanCallObject(text, start);
  return {
    call: {
      ...(scanned.name === undefined ? {} : { name: scanned.name }),
      ...(scanned.id === undefined ? {} : { id: scanned.id }),
      argumentsText: scanned.argumentsText ?? '',
      complete: scanned.end !== undefined,
    },
    end: scanned.end,
  };
}

/** Reads a JSON array of call objects at `start` (a `[`): the calls and the index after `]` when complete. */
function arrayCalls(text: string, start: number): { calls: PartialCall[]; end: number | undefined; broken: boolean } {
  const calls: PartialCall[] = [];
  let position = start + 1;
  for (;;) {
    position = skipSpace(text, position);
    while (text[position] === ',') position = skipSpace(text, position + 1);
    if (position >= text.length) return { calls, end: undefined, broken: false };
    if (text[position] === ']') return { calls, end: position + 1, broken: false };
    if (text[position] !== '{') return { calls, end: undefined, broken: true };
    const { call, end } = callOf(text, position);
    calls.push(call);
    if (end === undefined) return { calls, end: undefined, broken: false };
    position = end;
  }
}

function result(calls: PartialCall[], content: string, broken: boolean, final: boolean): RegionParse {
  const incomplete = calls.some((call) => !call.complete || call.name === undefined);
  return { calls, content, reasoning: '', broken: broken || (final && incomplete) };
}

/**
 * Calls each wrapped in `open` … `close` around one JSON object (`close` optional at the very end), repeated; text
 * after the last call is content.
 */
export function taggedObjectSyntax(open: string, close: string): CallSyntax {
  return {
    starts: [{ text: open }],
    parse(region, final) {
      const calls: PartialCall[] = [];
      let position = 0;
      while (region.startsWith(open, position)) {
        const objectStart = skipSpace(region, position + open.length);
        if (objectStart >= region.length) return result(calls, '', false, final);
        if (region[objectStart] !== '{') return result(calls, '', true, final);
        const { call, end } = callOf(region, objectStart);
        calls.push(call);
        if (end === undefined) return result(calls, '', false, final);
        const afterObject = skipSpace(region, end);
        if (region.startsWith(close, afterObject)) position = skipSpace(region, afterObject + close.length);
        else if (afterObject >= region.length || close.startsWith(region.slice(afterObject))) {
          return result(calls, '', false, final);
        } else return result(calls, '', true, final);
      }
      return result(
        calls,
        final || !open.startsWith(region.slice(position)) ? region.slice(position) : '',
        false,
        final,
      );
    },
  };
}

/** `marker` followed by a JSON array of call objects, then optionally `close`; text after is content. */
export function markedArraySyntax(marker: string, close = ''): CallSyntax {
  return {
    starts: [{ text: marker }],
    parse(region, final) {
      const arrayStart = skipSpace(region, marker.length);
      if (arrayStart >= region.length) return result([], '', false, final);
      if (region[arrayStart] !== '[') return result([], '', true, final);
      const { calls, end, broken } = arrayCalls(region, arrayStart);
      if (end === undefined) return result(calls, '', broken, final);
      let after = skipSpace(region, end);
      if (close !== '' && region.startsWith(close, after)) after += close.length;
      else if (close !== '' && !final && close.startsWith(region.slice(after))) return result(calls, '', broken, final);
      return result(calls, region.slice(after).replace(/^\s+/, ''), broken, final);
    },
  };
}

/** Llama 3.x: the message is one `{"name", "parameters"}` object (or several separated by `;`), or `<|python_tag|>` calls. */
export const llama3Syntax: CallSyntax = {
  starts: [{ text: '<|python_tag|>' }, { text: '{', atStart: true }],
  parse(region, final) {
    const calls: PartialCall[] = [];
    let position = region.startsWith('<|python_tag|>') ? '<|python_tag|>'.length : 0;
    for (;;) {
      position = skipSpace(region, position);
      if (position >= region.length) return result(calls, '', false, final);
      if (region[position] === '{') {
        const { call, end } = callOf(region, position);
        calls.push(call);
        if (end === undefined) return result(calls, '', false, final);
        position = skipSpace(region, end);
        if (region[position] === ';') position++;
        continue;
      }
      // A built-in tool: name.call(key="value", …)
      const builtin = /^([A-Za-z_][\w]*)\.call\((.*)\)\s*$/s.exec(region.slice(position));
      if (builtin !== null) {
        const argumentsObject: Record<string, unknown> = {};
        for (const match of builtin[2]!.matchAll(/(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,]+)/g)) {
          const raw = match[2]!.trim();
          argumentsObject[match[1]!] = raw.startsWith("'") ? raw.slice(1, -1) : safeJson(raw);
        }
        calls.push({ name: builtin[1]!, argumentsText: JSON.stringify(argumentsObject), complete: true });
        return result(calls, '', false, final);
      }
      return result(calls, '', final || !/^[A-Za-z_][\w.]*(\(.*)?$/s.test(region.slice(position)), final);
    }
  },
};

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Mistral: `[TOOL_CALLS][{…}, …]` (v3) or `[TOOL_CALLS]name[CALL_ID]id[ARGS]{…}` repeated (v7/v11). */
export const mistralSyntax: CallSyntax = {
  starts: [{ text: '[TOOL_CALLS]' }],
  parse(region, final) {
    const marker = '[TOOL_CALLS]';
    const afterMarker = skipSpace(region, marker.length);
    if (region[afterMarker] === '[') return markedArraySyntax(marker).parse(region, final);
    const calls: PartialCall[] = [];
    let position = marker.length;
    while (position < region.length) {
      const header = /^\s*([^[\]\s]+)(?:\[CALL_ID\]([^[\]\s]+))?\[ARGS\]/.exec(region.slice(position));
      if (header === null) {
        const partial = /^\s*[^[\]\s]*(\[[A-Z_]*\]?[^[\]\s]*)*$/.test(region.slice(position));
        return result(calls, '', final || !partial, final);
      }
      const argumentsStart = skipSpace(region, position + header[0].length);
      const end = scanJsonValue(region, argumentsStart);
      calls.push({
        name: header[1]!,
        ...(header[2] === undefined ? {} : { id: header[2] }),
        argumentsText: region.slice(argumentsStart, end ?? region.length),
        complete: end !== undefined,
      });
      if (end === undefined) return result(calls, '', false, final);
      position = skipSpace(region, end);
      if (region.startsWith(marker, position)) position += marker.length;
      else if (!final && marker.startsWith(region.slice(position))) return result(calls, '', false, final);
      else return result(calls, region.slice(position), false, final);
    }
    return result(calls, '', false, final);
  },
};

/** Command-R: `Action:` then a fenced JSON list of `{"tool_name", "parameters"}`. */
export const commandRSyntax: CallSyntax = {
  starts: [{ text: 'Action:' }],
  parse(region, final) {
    const fence = /^Action:\s*```(?:json)?\s*/.exec(region);
    if (fence === null) return result([], '', final || !'Action:\n```json\n'.startsWith(region.slice(0, 15)), final);
    const arrayStart = fence[0].length;
    if (arrayStart >= region.length) return result([], '', false, final);
    const { calls, end, broken } = arrayCalls(region, arrayStart);
    if (end === undefined) return result(calls, '', broken, final);
    const rest = region.slice(end).replace(/^\s*```/, '');
    if (!final && '```'.startsWith(rest.trim())) return result(calls, '', broken, final);
    return result(calls, rest.replace(/^\s+/, ''), broken, final);
  },
};

const DEEPSEEK = {
  callsBegin: '<｜tool▁calls▁begin｜>',
  callsEnd: '<｜tool▁calls▁end｜>',
  callBegin: '<｜tool▁call▁begin｜>',
  callEnd: '<｜tool▁call▁end｜>',
  separator: '<｜tool▁sep｜>',
};

/** DeepSeek V3.1 (`name<｜tool▁sep｜>{…}`) and R1/V3 (`function<｜tool▁sep｜>name` + fenced JSON). */
export const deepseekSyntax: CallSyntax = {
  starts: [{ text: DEEPSEEK.callsBegin }, { text: DEEPSEEK.callBegin }],
  parse(region, final) {
    const calls: PartialCall[] = [];
    let position = region.startsWith(DEEPSEEK.callsBegin) ? DEEPSEEK.callsBegin.length : 0;
    for (;;) {
      position = skipSpace(region, position);
      if (region.startsWith(DEEPSEEK.callsEnd, position)) {
        return result(calls, region.slice(position + DEEPSEEK.callsEnd.length).replace(/^\s+/, ''), false, final);
      }
      if (position >= region.length || !region.startsWith(DEEPSEEK.callBegin, position)) {
        const partial =
          position >= region.length ||
          DEEPSEEK.callBegin.startsWith(region.slice(position)) ||
          DEEPSEEK.callsEnd.startsWith(region.slice(position));
        return result(calls, final && !partial ? region.slice(position) : '', !partial && calls.length === 0, final);
      }
      const headerStart = position + DEEPSEEK.callBegin.length;
      const separator = region.indexOf(DEEPSEEK.separator, headerStart);
      if (separator === -1) return result(calls, '', final, final);
      let name = region.slice(headerStart, separator).trim();
      let argumentsStart = separator + DEEPSEEK.separator.length;
      if (name === 'function') {
        const header = /^([^\n]+)\n```(?:json)?\s*/.exec(region.slice(argumentsStart));
        if (header === null) return result(calls, '', final, final);
        name = header[1]!.trim();
        argumentsStart += header[0].length;
      }
      argumentsStart = skipSpace(region, argumentsStart);
      const end = scanJsonValue(region, argumentsStart);
      calls.push({
        name,
        argumentsText: region.slice(argumentsStart, end ?? region.length),
        complete: end !== undefined,
      });
      if (end === undefined) return result(calls, '', false, final);
      position = skipSpace(region, end);
      if (region.startsWith('```', position)) position = skipSpace(region, position + 3);
      if (region.startsWith(DEEPSEEK.callEnd, position)) position += DEEPSEEK.callEnd.length;
      else if (!(position >= region.length || DEEPSEEK.callEnd.startsWith(region.slice(position)))) {
        return result(calls, '', true, final);
      } else return result(calls, '', false, final);
    }
  },
};
