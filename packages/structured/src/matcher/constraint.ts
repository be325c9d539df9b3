/** What the output must match. */
export type OutputConstraint =
  /** A GBNF grammar (llama.cpp's format); `root` is the start rule unless `rootRule` says otherwise. */
  | { readonly kind: 'grammar'; readonly grammar: string; readonly rootRule?: string }
  /** Any JSON object (OpenAI's `response_format: {type: 'json_object'}`). */
  | { readonly kind: 'json-object' }
  /** JSON matching a schema (OpenAI's `json_schema`); see `checkJsonSchema` for the supported keywords. */
  | { readonly kind: 'json-schema'; readonly schema: unknown }
  /** The whole output matches a regular expression (no lookaround or back-references). */
  | { readonly kind: 'regex'; readonly pattern: string }
  /** An XGrammar structural tag (built by `grammarForToolChoice`). */
  | { readonly kind: 'structural-tag'; readonly structuralTag: unknown };

/** OpenAI's `response_format` values that constrain output. */
export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | {
      readonly type: 'json_schema';
      readonly json_schema: { readonly name: string; readonly schema?: unknown; readonly strict?: boolean | null };
    };

/** The constraint of an OpenAI `response_format` (undefined for `text`). */
export function constraintOfResponseFormat(format: ResponseFormat): OutputConstraint | undefined {
  if (format.type === 'json_object') return { kind: 'json-object' };
  if (format.type === 'json_schema') return { kind: 'json-schema', schema: format.json_schema.schema ?? {} };
  return undefined;
}
