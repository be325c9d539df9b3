import type { CallSyntax, PartialCall, RegionParse } from './call-syntax.js';
import { partialMarkerLength } from './call-syntax.js';
import { scanJsonValue } from './json-scan.js';

/** A parameter value written as text: JSON when it parses as JSON, else the string itself. */
function parameterValue(raw: string): unknown {
  const text = raw.replace(/^\n/, '').replace(/\n$/, '');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function blocks(region: string, open: string, close: string): { bodies: string[]; rest: string; incomplete: boolean } {
  const bodies: string[] = [];
  let position = 0;
  for (;;) {
    while (position < region.length && /\s/.test(region[position]!)) position++;
    if (!region.startsWith(open, position)) {
      const rest = region.slice(position);
      return { bodies, rest, incomplete: rest !== '' && open.startsWith(rest) };
    }
    const end = region.indexOf(close, position + open.length);
    if (end === -1) {
      bodies.push(region.slice(position + open.length));
      return { bodies, rest: '', incomplete: true };
    }
    bodies.push(region.slice(position + open.length, end));
    position = end + close.length;
  }
}

function xmlResult(
  bodies: string[],
  incomplete: boolean,
  rest: string,
  final: boolean,
  read: (body: string) => PartialCall | undefined,
): RegionParse {
  const calls: PartialCall[] = [];
  let broken = false;
  bodies.forEach((body, index) => {
    const last = index === bodies.length - 1;
    const call = last && incomplete ? undefined : read(body);
    if (call === undefined) {
      if (!(last && incomplete && !final)) broken = true;
      return;
    }
    calls.push(call);
  });
  return { calls, content: final || !incomplete ? rest : '', reasoning: '', broken };
}

/** Qwen3-Coder: `<tool_call><function=name><parameter=key>value</parameter>…</function></tool_call>`. */
export const qwen3CoderSyntax: CallSyntax = {
  starts: [{ text: '<tool_call>' }],
  parse(region, final) {
    const { bodies, rest, incomplete } = blocks(region, '<tool_call>', '</tool_call>');
    return xmlResult(bodies, incomplete, rest, final, (body) => {
      const match = /^\s*<function=([^>\s]+)>([\s\S]*)<\/function>\s*$/.exec(body);
      if (match === null) return undefined;
      const parameters: Record<string, unknown> = {};
      for (const parameter of match[2]!.matchAll(/<parameter=([^>\s]+)>([\s\S]*?)<\/parameter>/g)) {
        parameters[parameter[1]!] = parameterValue(parameter[2]!);
      }
      return { name: match[1]!, argumentsText: JSON.stringify(parameters), complete: true };
    });
  },
};

/** GLM 4.5/4.6: `<tool_call>name<arg_key>key</arg_key><arg_value>value</arg_value>…</tool_call>`. */
export const glmSyntax: CallSyntax = {
  starts: [{ text: '<tool_call>' }],
  parse(region, final) {
    const { bodies, rest, incomplete } = blocks(region, '<tool_call>', '</tool_call>');
    return xmlResult(bodies, incomplete, rest, final, (body) => {
      const name = /^\s*([^<\n]+?)\s*(?=<arg_key>|$)/.exec(body);
      if (name === null) return undefined;
      const parameters: Record<string, unknown> = {};
      for (const pair of body.matchAll(/<arg_key>([\s\S]*?)<\/arg_key>\s*<arg_value>([\s\S]*?)<\/arg_value>/g)) {
        parameters[pair[1]!.trim()] = parameterValue(pair[2]!);
      }
      return { name: name[1]!, argumentsText: JSON.stringify(parameters), complete: true };
    });
  },
};

/**
 * Functionary v3.2: the prompt ends with `>>>`; each segment is `recipient\nbody` and segments are joined by `>>>`.
 * Recipient `all` is content for the user; any other recipient is a function called with the JSON body.
 */
export const functionarySyntax: CallSyntax = {
  parse(region, final) {
    const segments = region.split('>>>');
    const calls: PartialCall[] = [];
    let content = '';
    let broken = false;
    segments.forEach((segment, index) => {
      const last = index === segments.length - 1;
      const newline = segment.indexOf('\n');
      if (newline === -1) {
        if (final && segment.trim() !== '') broken = true;
        return;
      }
      const recipient = segment.slice(0, newline).trim();
      let body = segment.slice(newline + 1);
      if (recipient === 'all') {
        if (last && !final) body = body.slice(0, body.length - partialMarkerLength(body, '>>>'));
        content += body;
        return;
      }
      const start = body.length - body.trimStart().length;
      const end = scanJsonValue(body, start);
      calls.push({
        name: recipient,
        argumentsText: body.slice(start, end ?? body.length).trimEnd(),
        complete: end !== undefined,
      });
      if (end === undefined && final) broken = true;
    });
    return { calls, content, reasoning: '', broken };
  },
};

/**
 * gpt-oss (harmony): messages `<|channel|>NAME<|message|>TEXT` ended by `<|end|>`, `<|return|>` or `<|call|>`, each
 * after `<|start|>assistant` except the first. `analysis` is reasoning, `final` is content, and a header with
 * `to=functions.NAME` is a call whose message is the JSON arguments.
 */
export const gptOssSyntax: CallSyntax = {
  parse(region, final) {
    const calls: PartialCall[] = [];
    let content = '';
    let reasoning = '';
    let broken = false;
    const parts = region.split('<|start|>');
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      const messageAt = part.indexOf('<|message|>');
      if (messageAt === -1) {
        if (final && part.trim() !== '' && part.trim() !== 'assistant') {
          // No header at all: a plain answer.
          if (index === 0 && !part.includes('<|channel|>')) content += part;
          else broken = true;
        }
        return;
      }
      const header = part.slice(0, messageAt);
      let body = part.slice(messageAt + '<|message|>'.length);
      const ended = /<\|(end|return|call)\|>/.exec(body);
      if (ended !== null) body = body.slice(0, ended.index);
      else if (last && !final)
        body = body.slice(
          0,
          body.length -
            Math.max(...['<|end|>', '<|return|>', '<|call|>'].map((marker) => partialMarkerLength(body, marker))),
        );
      const recipient = /to=functions\.([^\s<]+)/.exec(header);
      if (recipient !== null) {
        calls.push({ name: recipient[1]!, argumentsText: body.trim(), complete: ended !== null || final });
        if (final && scanJsonValue(body, 0) === undefined) broken = true;
      } else if (/<\|channel\|>\s*analysis/.test(header)) reasoning += body;
      else content += body;
    });
    return { calls, content, reasoning, broken };
  },
};
