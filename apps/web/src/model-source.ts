import { StrataError } from '@strata/core';
import { blobSource, type ByteSource, type DirectorySource, sourcesDirectory } from '@strata/loaders';

/** What the user picked, ready for `TextPipeline.load`: one GGUF, the shards of a split GGUF, or a model folder. */
export type PickedModel =
  | { readonly kind: 'gguf'; readonly name: string; readonly source: ByteSource | readonly ByteSource[] }
  | { readonly kind: 'huggingface'; readonly name: string; readonly source: DirectorySource };

/** The file's name inside the picked folder (a directory pick gives `folder/sub/file`; only the last part counts). */
function baseName(file: File): string {
  const path = file.webkitRelativePath || file.name;
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The picked folder's name, from the first file's relative path. */
function folderName(files: readonly File[]): string {
  const path = files[0]?.webkitRelativePath ?? '';
  const slash = path.indexOf('/');
  return slash > 0 ? path.slice(0, slash) : 'model folder';
}

/**
 * Turns picked files into a model source. A pick with `config.json` is a Hugging Face folder (its top-level files,
 * read lazily through `blobSource`); otherwise its `.gguf` files are one model, or the shards of a split model in
 * name order (`model-00001-of-00003.gguf`, …). Throws `INVALID_ARGUMENT`, saying what to pick, for anything else.
 */
export function pickedModel(files: readonly File[]): PickedModel {
  const topLevel = files.filter((file) => !file.webkitRelativePath || file.webkitRelativePath.split('/').length <= 2);
  if (topLevel.some((file) => baseName(file) === 'config.json')) {
    const sources = new Map<string, ByteSource>();
    for (const file of topLevel) sources.set(baseName(file), blobSource(file, baseName(file)));
    const name = folderName(files);
    return { kind: 'huggingface', name, source: sourcesDirectory(sources, name) };
  }
  const ggufs = files
    .filter((file) => baseName(file).toLowerCase().endsWith('.gguf'))
    .sort((a, b) => (baseName(a) < baseName(b) ? -1 : baseName(a) > baseName(b) ? 1 : 0));
  const first = ggufs[0];
  if (first === undefined) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `None of the ${files.length} picked files is a model: pick a .gguf file (all shards of a split model), or a Hugging Face folder with config.json.`,
    );
  }
  const sources = ggufs.map((file) => blobSource(file, baseName(file)));
  return { kind: 'gguf', name: baseName(first), source: sources.length === 1 ? sources[0]! : sources };
}
