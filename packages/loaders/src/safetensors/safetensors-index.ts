import { StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import type { DirectorySource } from '../byte-source/directory-source.js';
import { openSafetensors, type SafetensorsFile } from './safetensors.js';

/** The parsed `model.safetensors.index.json` of a sharded model. */
export interface SafetensorsIndex {
  /** The index's `metadata` object (for example `total_size`), as JSON. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name → shard file name. */
  readonly weightMap: ReadonlyMap<string, string>;
  /** Shard file names in order of first appearance. */
  readonly files: readonly string[];
}

/** Parses the text of a `model.safetensors.index.json`; `INVALID_FILE` when it is not one. */
export function parseSafetensorsIndex(text: string, name = 'model.safetensors.index.json'): SafetensorsIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new StrataError('INVALID_FILE', `${name} is not valid JSON.`, { cause, details: { name } });
  }
  const record =
    typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  const map = record?.weight_map;
  if (record === undefined || typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new StrataError('INVALID_FILE', `${name} has no weight_map object.`, { details: { name } });
  }
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.length === 0 || file.includes('/') || file.includes('\\')) {
      throw new StrataError('INVALID_FILE', `${name} maps '${tensor}' to ${JSON.stringify(file)}, not a file name.`, {
        details: { name, tensor },
      });
    }
    weightMap.set(tensor, file);
    if (!files.includes(file)) files.push(file);
  }
  const metadata = record.metadata;
  return {
    metadata:
      typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)
        ? (metadata as Record<string, unknown>)
        : {},
    weightMap,
    files,
  };
}

/**
 * Opens the shards an index names from a directory, checking that every tensor of the index is in the shard it names.
 */
export async function openSafetensorsIndex(
  directory: DirectorySource,
  indexName = 'model.safetensors.index.json',
): Promise<SafetensorsFile & { readonly index: SafetensorsIndex }> {
  const text = await directory.readText(indexName);
  if (text === undefined)
    throw new StrataError('IO_ERROR', `${directory.name} has no ${indexName}.`, {
      details: { directory: directory.name, indexName },
    });
  const index = parseSafetensorsIndex(text, indexName);
  const sources: ByteSource[] = [];
  for (const file of index.files) {
    const source = await directory.open(file);
    if (source === undefined) {
      throw new StrataError(
        'IO_ERROR',
        `${indexName} names shard ${file}, which is missing from ${directory.name}; download every shard.`,
        { details: { file } },
      );
    }
    sources.push(source);
  }
  const opened = await openSafetensors(sources);
  for (const [tensor, file] of index.weightMap) {
    const location = opened.tensors.tensors.has(tensor) ? opened.tensors.locate(tensor) : undefined;
    const fileIndex = index.files.indexOf(file);
    if (location === undefined || location.source !== sources[fileIndex]) {
      throw new StrataError(
        'INVALID_FILE',
        `${indexName} places '${tensor}' in ${file}, but that shard does not hold it.`,
        { details: { tensor, file } },
      );
    }
  }
  return { ...opened, index };
}
