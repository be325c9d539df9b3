import {
  bytesSource,
  type GgufTypedValue,
  type GgufWriteTensor,
  type ModelFiles,
  openModel,
  writeGguf,
} from '@strata/loaders';
import { openModelFiles } from '@strata/loaders/node';

/** Changes {@link rewriteGguf} makes to a file: each receives what the file holds and returns what to write. */
export interface GgufChanges {
  /** The metadata entries, in file order. */
  readonly metadata?: (entries: [string, GgufTypedValue][]) => [string, GgufTypedValue][];
  /** The tensors (bytes read into memory), in file order. */
  readonly tensors?: (tensors: GgufWriteTensor[]) => GgufWriteTensor[];
}

/**
 * Reads a small GGUF file, applies `changes` and opens the rewritten file from memory: a variant of a fixture (an older
 * converter's layout, extra tensors) without storing another file.
 */
export async function rewriteGguf(path: string, changes: GgufChanges): Promise<ModelFiles> {
  const original = await openModelFiles(path);
  if (original.format !== 'gguf') throw new Error(`${path} is not a GGUF file`);
  const tensors: GgufWriteTensor[] = [];
  for (const entry of original.tensors.tensors.values()) {
    const data = await original.tensors.readBytes(entry.name);
    tensors.push({ name: entry.name, type: entry.type ?? 'F32', shape: entry.shape, data });
  }
  const metadata = [...original.metadata.entries()];
  const rewritten = writeGguf({
    metadata: changes.metadata?.(metadata) ?? metadata,
    tensors: changes.tensors?.(tensors) ?? tensors,
  });
  return openModel(bytesSource(rewritten, `${path} (rewritten)`));
}
