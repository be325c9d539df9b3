/**
 * Finds the end of the JSON value starting at `start` (after leading whitespace): the index after it, or undefined
 * when the text ends first (the value is incomplete). Tolerant: it tracks only strings and bracket depth.
 */
export function scanJsonValue(text: string, start: number): number | undefined {
  let position = start;
  while (position < text.length && /\s/.test(text[position]!)) position++;
  if (position >= text.length) return undefined;
  const first = text[position]!;
  if (first === '"') return scanString(text, position);
  if (first === '{' || first === '[') {
    let depth = 0;
    while (position < text.length) {
      const character = text[position]!;
      if (character === '"') {
        const end = scanString(text, position);
        if (end === undefined) return undefined;
        position = end;
        continue;
      }
      if (character === '{' || character === '[') depth++;
      else if (character === '}' || character === ']') {
        depth--;
        if (depth === 0) return position + 1;
      }
      position++;
    }
    return undefined;
  }
  // A number, true, false or null: up to the next delimiter; incomplete if the text ends inside it.
  const match = /^[-+0-9.eEtruefalsn]+/.exec(text.slice(position));
  if (match === null) return position;
  const end = position + match[0].length;
  return end >= text.length ? undefined : end;
}

/** The index after the string literal starting at `start` (a `"`), or undefined when it is unterminated. */
export function scanString(text: string, start: number): number | undefined {
  for (let position = start + 1; position < text.length; position++) {
    const character = text[position];
    if (character === '\\') position++;
    else if (character === '"') return position + 1;
  }
  return undefined;
}

/** What {@link scanCallObject} read of a `{"name": …, "arguments": …}` object, possibly incomplete. */
export interface ScannedCall {
  /** The `name` (or `tool_name`, `function`) string once complete. */
  name?: string;
  /** The model's call id, when the object has an `id`. */
  id?: string;
  /** The raw text of the arguments value (`arguments` or `parameters`) read so far. */
  argumentsText?: string;
  /** True when the arguments value is complete. */
  argumentsComplete: boolean;
  /** The index after the object's closing brace, when complete. */
  end?: number;
}

const NAME_KEYS = new Set(['name', 'tool_name', 'function']);
const ARGUMENT_KEYS = new Set(['arguments', 'parameters']);

/** Reads a call object starting at `start` (a `{`), as far as the text goes. */
export function scanCallObject(text: string, start: number): ScannedCall {
  const call: ScannedCall = { argumentsComplete: false };
  let position = start + 1;
  for (;;) {
    while (position < text.length && /[\s,]/.test(text[position]!)) position++;
    if (position >= text.length) return call;
    if (text[position] === '}') {
      call.end = position + 1;
      return call;
    }
    if (text[position] !== '"') return call;
    const keyEnd = scanString(text, position);
    if (keyEnd === undefined) return call;
    const key = JSON.parse(text.slice(position, keyEnd)) as string;
    position = keyEnd;
    while (position < text.length && /\s/.test(text[position]!)) position++;
    if (text[position] !== ':') return call;
    position++;
    while (position < text.length && /\s/.test(text[position]!)) position++;
    const valueEnd = scanJsonValue(text, position);
    if (ARGUMENT_KEYS.has(key)) {
      call.argumentsText = text.slice(position, valueEnd ?? text.length);
      call.argumentsComplete = valueEnd !== undefined;
    }
    if (valueEnd === undefined) return call;
    const raw = text.slice(position, valueEnd);
    if ((NAME_KEYS.has(key) || key === 'id') && raw.startsWith('"')) {
      const value = JSON.parse(raw) as string;
      if (key === 'id') call.id = value;
      else call.name = value;
    }
    position = valueEnd;
  }
}

/**
 * Arguments as OpenAI wants them: the JSON text of an object, as the model wrote it (so it equals the streamed deltas).
 * A value that is itself a JSON string holding an object (templates that `tojson` a string) is unwrapped. Undefined
 * when the text is not a JSON object.
 */
export function normalizeArguments(raw: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw.trim() === '' ? '{}' : raw);
  } catch {
    return undefined;
  }
  if (typeof value === 'string') {
    try {
      const inner = JSON.parse(value) as unknown;
      if (typeof inner === 'object' && inner !== null) return JSON.stringify(inner);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? raw.trim() || '{}' : undefined;
}
