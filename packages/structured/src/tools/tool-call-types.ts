/** A tool call in OpenAI's shape. */
export interface ToolCall {
  /** Unique id of the call (the model's own id when its format carries one). */
  readonly id: string;
  /** Always `function`. */
  readonly type: 'function';
  /** The function and its arguments. */
  readonly function: {
    /** Function name. */
    readonly name: string;
    /** Arguments as a JSON text (an object). */
    readonly arguments: string;
  };
}

/** The tool-call syntaxes strata parses, by the chat templates that produce them. */
export type ToolCallFormat =
  /** `<tool_call>{"name", "arguments"}</tool_call>`: Hermes, Qwen 2.5/3, Granite 4, Bielik, MiMo, Reka, SmolLM3. */
  | 'hermes'
  /** `<tool_call><function=name><parameter=k>v</parameter></function></tool_call>`: Qwen3-Coder. */
  | 'qwen3-coder'
  /** `<tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>`: GLM 4.5/4.6. */
  | 'glm'
  /** `{"name", "parameters"}` objects, or `<|python_tag|>` calls: Llama 3.1/3.2/3.3. */
  | 'llama3'
  /** `[TOOL_CALLS][{"name", "arguments", "id"}]` or `[TOOL_CALLS]name[CALL_ID]id[ARGS]{…}`: Mistral. */
  | 'mistral'
  /** `>>>name\n{…}` segments (the prompt ends with `>>>`; `all` is plain content): functionary v3.2. */
  | 'functionary'
  /** `Action:\n```json\n[{"tool_name", "parameters"}]\n```: Command-R(+). */
  | 'command-r'
  /** `<｜tool▁call▁begin｜>name<｜tool▁sep｜>{…}<｜tool▁call▁end｜>`: DeepSeek V3.1 (and R1's `function` + fenced JSON). */
  | 'deepseek'
  /** Harmony channels: `<|channel|>analysis…`, `<|start|>assistant to=functions.name<|channel|>commentary json<|message|>{…}<|call|>`: gpt-oss. */
  | 'gpt-oss'
  /** `<|tool_call|>[{"name", "arguments"}]`: Granite 3.x. */
  | 'granite'
  /** `<TOOLCALL>[…]</TOOLCALL>`: NVIDIA Nemotron. */
  | 'nemotron'
  /** `<tool_calls>[…]</tool_calls>`: Apriel. */
  | 'apriel';

/** What {@link parseToolCalls} found in a finished assistant message. */
export interface ParsedAssistantMessage {
  /** Text meant for the user (tool-call markup and reasoning removed); broken calls stay here verbatim. */
  readonly content: string;
  /** The model's reasoning (`<think>…</think>`, harmony's analysis channel, …), when it wrote any. */
  readonly reasoning_content?: string;
  /** The calls, in order; empty when there are none. */
  readonly tool_calls: readonly ToolCall[];
  /** `tool_calls` when there are calls, else `stop`. */
  readonly finish_reason: 'tool_calls' | 'stop';
  /** True when a call was started but could not be parsed (truncated JSON, …); its text is left in `content`. */
  readonly broken_tool_call?: boolean;
}

/** An OpenAI-shaped tool function definition (`tools[i]`). */
export interface ToolDefinition {
  /** Always `function`. */
  readonly type: 'function';
  /** The function. */
  readonly function: {
    /** Name the model calls it by. */
    readonly name: string;
    /** What it does. */
    readonly description?: string;
    /** JSON schema of its arguments (an object schema). */
    readonly parameters?: unknown;
  };
}

/** OpenAI's `tool_choice`. */
export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { readonly type: 'function'; readonly function: { readonly name: string } };
