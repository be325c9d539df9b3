import { pythonStr, TemplateRuntimeError } from './python-semantics.js';
import { is, type JinjaValue } from './runtime-values.js';

/** Python's `template % argument` for the conversions templates use (`%s`, `%r`, `%d`, `%i`, `%f`, `%%`). */
export function percentFormat(template: string, argument: JinjaValue): string {
  if (is.object(argument) && /%\(/.test(template)) {
    return template.replace(/%\((\w+)\)([sdifr])/g, (_, name: string) =>
      pythonStr(argument.value.get(name) ?? argument),
    );
  }
  const args = is.tuple(argument) ? (argument.value as JinjaValue[]).slice() : [argument];
  return template.replace(/%([sdifr%])/g, (_, code: string) => {
    if (code === '%') return '%';
    const value = args.shift();
    if (value === undefined) throw new TemplateRuntimeError('TypeError', 'not enough arguments for format string');
    if (code === 'd' || code === 'i') return String(Math.trunc(Number(value.value)));
    if (code === 'f') return Number(value.value).toFixed(6);
    return pythonStr(value);
  });
}
