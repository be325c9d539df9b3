import { StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import { LocatedTensorStore, type TensorEntry, type TensorLocation } from '../tensor-store.js';
import { type GgufHeader, type GgufTensorInfo, readGgufHeader } from './gguf-header.js';
import type { GgufMetadata } from './gguf-metadata.js';

/** A GGUF tensor with the shard that holds it. */
export interface GgufFileTensor extends GgufTensorInfo {
  /** Index of the shard (0 for a single file). */
  readonly shard: number;
  /** Absolute offset of the data in its shard. */
  readonly absoluteOffset: number;
}

/** An opened GGUF model: one file, or the shards of a split model merged into one. */
export interface GgufFile {
  /** Format version of the first shard. */
  readonly version: number;
  /** Metadata of the first shard (split models keep the model's metadata there). */
  readonly metadata: GgufMetadata;
  /** `general.architecture`, when present. */
  readonly architecture: string | undefined;
  /** Every tensor of every shard, in order. */
  readonly tensorInfos: readonly GgufFileTensor[];
  /** The tensors and their bytes. */
  readonly tensors: LocatedTensorStore;
  /** The header of each shard. */
  readonly shards: readonly GgufHeader[];
}

/** The {@link TensorEntry} of a GGUF tensor: row-major shape (ggml dims reversed). */
export function ggufTensorEntry(info: GgufTensorInfo): TensorEntry {
  return {
    name: info.name,
    type: info.type.name,
    sourceType: info.type.name,
    shape: [...info.dimensions].reverse(),
    byteLength: info.byteLength,
  };
}

function splitError(message: string, details: Record<string, unknown>): StrataError {
  return new StrataError('INVALID_FILE', `${message} Pass every shard, in order (name-00001-of-0000N.gguf first).`, {
    details,
  });
}

/**
 * Opens a GGUF model from one source or the shards of a split model (`split.no`, `split.count`,
 * `split.tensors.count`), given in order. Metadata comes from the first shard, tensors from all of them.
 */
export async function openGguf(sources: ByteSource | readonly ByteSource[]): Promise<GgufFile> {
  const list: readonly ByteSource[] = Array.isArray(sources) ? sources : [sources as ByteSource];
  if (list.length === 0) throw new StrataError('INVALID_ARGUMENT', 'openGguf needs at least one source.');
  const shards: GgufHeader[] = [];
  for (const source of list) shards.push(await readGgufHeader(source));
  const first = shards[0] as GgufHeader;
  const splitCount = first.metadata.findInteger('split.count');
  if (splitCount === undefined) {
    if (list.length > 1)
      throw splitError(
        `${list.length} sources were given but ${list[0]?.name} is not a split model (no split.count).`,
        {},
      );
  } else {
    if (splitCount !== list.length) {
      throw splitError(
        `${list[0]?.name} is shard of a model split in ${splitCount}, but ${list.length} shard(s) were given.`,
        { splitCount, given: list.length },
      );
    }
    shards.forEach((shard, index) => {
      const number = shard.metadata.findInteger('split.no');
      const count = shard.metadata.findInteger('split.count');
      if (number !== index || count !== splitCount) {
        throw splitError(
          `${list[index]?.name} has split.no ${number} of ${count}; expected ${index} of ${splitCount}.`,
          { index, number, count },
        );
      }
    });
    const expected = first.metadata.findInteger('split.tensors.count');
    const total = shards.reduce((sum, shard) => sum + shard.tensorInfos.length, 0);
    if (expected !== undefined && expected !== total) {
      throw splitError(`The shards hold ${total} tensors but split.tensors.count says ${expected}.`, {
        expected,
        total,
      });
    }
  }
  const tensorInfos: GgufFileTensor[] = [];
  const locations: TensorLocation[] = [];
  shards.forEach((shard, index) => {
    const source = list[index] as ByteSource;
    for (const info of shard.tensorInfos) {
      const absoluteOffset = shard.dataOffset + info.offset;
      tensorInfos.push({ ...info, shard: index, absoluteOffset });
      locations.push({ entry: ggufTensorEntry(info), source, offset: absoluteOffset });
    }
  });
  return {
    version: first.version,
    metadata: first.metadata,
    architecture: first.metadata.findString('general.architecture'),
    tensorInfos,
    tensors: new LocatedTensorStore(locations),
    shards,
  };
}

/** For a shard name like `model-00001-of-00003.gguf`, the names of every shard in order; undefined for other names. */
export function ggufShardNames(fileName: string): string[] | undefined {
  const match = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/.exec(fileName);
  if (match === null) return undefined;
  const count = Number(match[3]);
  if (count < 1) return undefined;
  return Array.from(
    { length: count },
    (_, index) => `${match[1]}-${String(index + 1).padStart(5, '0')}-of-${match[3]}.gguf`,
  );
}
