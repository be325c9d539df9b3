import { elementCount } from '@strata/core';
import {
  type GgufModelFiles,
  ggufFileTypeName,
  type HuggingFaceModelFiles,
  type JsonObject,
  type JsonValue,
  type ModelFiles,
  type TensorEntry,
} from '@strata/loaders';
import type { Command, CommandOutput } from '../command.js';
import { openModelArgument } from './model-argument.js';

const USAGE = `Usage: strata inspect FILE_OR_DIRECTORY [--json] [--metadata] [--no-tensors]

Prints a model's architecture, key metadata and tensor table.
  FILE_OR_DIRECTORY  a .gguf file (the first shard of a split model opens them all), a Hugging Face model directory,
                     or a URL (http(s)://…, hf://owner/repo[/file.gguf]; headers are read with range
                     requests unless the model is cached)
  --json             print one JSON object instead of text
  --metadata         also list every GGUF metadata key (arrays summarised) or the whole config.json
  --no-tensors       leave out the tensor table
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

/** A summary row: a label and its value, or undefined when the file does not say. */
type Fact = readonly [string, string | number | undefined];

/** What `inspect` reports, as printed by `--json`. */
export interface InspectReport {
  readonly path: string;
  readonly format: 'gguf' | 'huggingface';
  readonly architecture: string | undefined;
  readonly facts: Readonly<Record<string, string | number>>;
  readonly metadata?: Readonly<Record<string, JsonValue>>;
  readonly tensors?: readonly { name: string; type: string; shape: readonly number[]; bytes: number }[];
}

function ggufFacts(model: GgufModelFiles): Fact[] {
  const metadata = model.metadata;
  const architecture = model.architecture ?? '';
  const number = (key: string) => {
    const value = metadata.entry(key);
    return value !== undefined && value.type !== 'string' && value.type !== 'bool' && value.type !== 'array'
      ? Number(value.value)
      : undefined;
  };
  const fileType = number('general.file_type');
  const tokens = metadata.entry('tokenizer.ggml.tokens');
  return [
    [
      'format',
      `GGUF v${model.gguf.version}${model.gguf.shards.length > 1 ? ` (${model.gguf.shards.length} shards)` : ''}`,
    ],
    ['name', metadata.findString('general.name')],
    ['metadata keys', metadata.size],
    ['layers', number(`${architecture}.block_count`)],
    ['context length', number(`${architecture}.context_length`)],
    ['embedding size', number(`${architecture}.embedding_length`)],
    ['feed-forward size', number(`${architecture}.feed_forward_length`)],
    ['attention heads', number(`${architecture}.attention.head_count`)],
    ['key/value heads', number(`${architecture}.attention.head_count_kv`)],
    ['experts', number(`${architecture}.expert_count`)],
    ['experts used', number(`${architecture}.expert_used_count`)],
    ['RoPE base', number(`${architecture}.rope.freq_base`)],
    ['file type', fileType === undefined ? undefined : `${ggufFileTypeName(fileType) ?? 'unknown'} (${fileType})`],
    ['tokenizer model', metadata.findString('tokenizer.ggml.model')],
    ['tokenizer pre-tokenizer', metadata.findString('tokenizer.ggml.pre')],
    ['vocabulary size', tokens?.type === 'array' ? tokens.value.values.length : undefined],
    ['chat template', metadata.has('tokenizer.chat_template') ? 'yes' : 'no'],
  ];
}

function huggingFaceFacts(model: HuggingFaceModelFiles): Fact[] {
  const config = model.config;
  const textConfig =
    typeof config.text_config === 'object' && config.text_config !== null && !Array.isArray(config.text_config)
      ? config.text_config
      : {};
  const field = (key: string): string | number | undefined => {
    const value = config[key] ?? (textConfig as Record<string, JsonValue>)[key];
    return typeof value === 'number' || typeof value === 'string' ? value : undefined;
  };
  const tokenizerModel = model.huggingface.tokenizer?.model;
  const tokenizerType =
    typeof tokenizerModel === 'object' && tokenizerModel !== null && !Array.isArray(tokenizerModel)
      ? (tokenizerModel as JsonObject).type
      : undefined;
  return [
    ['format', `Hugging Face (${model.huggingface.safetensors.headers.length} safetensors file(s))`],
    ['model type', field('model_type')],
    ['layers', field('num_hidden_layers')],
    ['context length', field('max_position_embeddings')],
    ['embedding size', field('hidden_size')],
    ['feed-forward size', field('intermediate_size')],
    ['attention heads', field('num_attention_heads')],
    ['key/value heads', field('num_key_value_heads')],
    ['experts', field('num_local_experts') ?? field('num_experts')],
    ['experts used', field('num_experts_per_tok')],
    ['RoPE base', field('rope_theta')],
    ['dtype', field('torch_dtype') ?? field('dtype')],
    ['tokenizer model', typeof tokenizerType === 'string' ? tokenizerType : undefined],
    ['vocabulary size', field('vocab_size')],
    ['chat template', model.huggingface.chatTemplate === undefined ? 'no' : 'yes'],
  ];
}

function ggufMetadataJson(model: GgufModelFiles): Record<string, JsonValue> {
  const result: Record<string, JsonValue> = Object.create(null);
  for (const [key, value] of model.metadata.entries()) {
    if (value.type === 'array') result[key] = `[${value.value.elementType} × ${value.value.values.length}]`;
    else if (typeof value.value === 'bigint') result[key] = value.value.toString();
    else result[key] = value.value;
  }
  return result;
}

/** Builds the report of an opened model. */
export function inspectReport(
  path: string,
  model: ModelFiles,
  options: { metadata: boolean; tensors: boolean },
): InspectReport {
  const facts: Record<string, string | number> = {};
  const parameters = [...model.tensors.tensors.values()].reduce((sum, entry) => sum + elementCount(entry.shape), 0);
  const bytes = [...model.tensors.tensors.values()].reduce((sum, entry) => sum + entry.byteLength, 0);
  const all: Fact[] = [
    ...(model.format === 'gguf' ? ggufFacts(model) : huggingFaceFacts(model)),
    ['tensors', model.tensors.tensors.size],
    ['parameters', parameters],
    ['tensor bytes', bytes],
  ];
  for (const [label, value] of all) if (value !== undefined) facts[label] = value;
  const tensorRow = (entry: TensorEntry) => ({
    name: entry.name,
    type: entry.type ?? entry.sourceType,
    shape: entry.shape,
    bytes: entry.byteLength,
  });
  return {
    path,
    format: model.format,
    architecture: model.architecture,
    facts,
    ...(options.metadata ? { metadata: model.format === 'gguf' ? ggufMetadataJson(model) : { ...model.config } } : {}),
    ...(options.tensors ? { tensors: [...model.tensors.tensors.values()].map(tensorRow) } : {}),
  };
}

function printText(report: InspectReport, output: CommandOutput): void {
  output.out(`${report.path}\n`);
  const rows: [string, string][] = [
    ['architecture', report.architecture ?? '(none)'],
    ...Object.entries(report.facts).map(([key, value]): [string, string] => [key, String(value)]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) output.out(`  ${label.padEnd(width)}  ${value}\n`);
  if (report.metadata !== undefined) {
    output.out('\nmetadata:\n');
    for (const [key, value] of Object.entries(report.metadata)) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      output.out(`  ${key} = ${text.length > 120 ? `${text.slice(0, 117)}...` : text}`.replaceAll('\n', '\\n') + '\n');
    }
  }
  if (report.tensors !== undefined) {
    const header = ['name', 'type', 'shape', 'bytes'];
    const table = report.tensors.map((tensor) => [
      tensor.name,
      tensor.type,
      `[${tensor.shape.join(', ')}]`,
      String(tensor.bytes),
    ]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...table.map((row) => (row[column] as string).length)),
    );
    const line = (cells: string[]) =>
      `  ${cells.map((cell, column) => (column === 3 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0))).join('  ')}\n`;
    output.out(`\ntensors:\n${line(header)}`);
    for (const row of table) output.out(line(row));
  }
}

/** `strata inspect FILE_OR_DIRECTORY`: architecture, key metadata and the tensor table of a model. */
export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Show a model file or directory: architecture, key metadata, tensors',
  usage: USAGE,
  async run(argv, output) {
    const paths = argv.filter((argument) => !argument.startsWith('--'));
    const unknown = argv.filter(
      (argument) => argument.startsWith('--') && !['--json', '--metadata', '--no-tensors'].includes(argument),
    );
    if (paths.length !== 1 || unknown.length > 0) {
      output.error(
        `strata inspect: ${unknown.length > 0 ? `unknown option ${unknown[0]}` : 'give exactly one FILE_OR_DIRECTORY'}.\n${USAGE}\n`,
      );
      return 2;
    }
    const path = paths[0] as string;
    const { files: model, completed } = await openModelArgument(path, output, { metadataOnly: true });
    await completed;
    const report = inspectReport(path, model, {
      metadata: argv.includes('--metadata'),
      tensors: !argv.includes('--no-tensors'),
    });
    if (argv.includes('--json')) output.out(`${JSON.stringify(report, null, 2)}\n`);
    else printText(report, output);
    return 0;
  },
};
