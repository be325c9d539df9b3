/** A node of a parsed GBNF grammar (llama.cpp's grammar format). */
export type GrammarNode =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'class'; readonly negated: boolean; readonly ranges: readonly (readonly [number, number])[] }
  | { readonly kind: 'any' }
  | { readonly kind: 'reference'; readonly name: string; readonly line: number; readonly column: number }
  | { readonly kind: 'sequence'; readonly items: readonly GrammarNode[] }
  | { readonly kind: 'alternatives'; readonly options: readonly GrammarNode[] }
  | { readonly kind: 'repeat'; readonly item: GrammarNode; readonly min: number; readonly max: number | undefined };

/** A parsed grammar: its rules in source order, by name. */
export interface ParsedGrammar {
  /** Rule name → its definition. */
  readonly rules: ReadonlyMap<string, GrammarNode>;
  /** The start rule (`root` unless told otherwise). */
  readonly root: string;
}
