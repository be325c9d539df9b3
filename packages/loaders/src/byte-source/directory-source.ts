import type { ByteSource } from './byte-source.js';

/** The files of one directory (a local folder, a browser directory pick, a model repository). Names are relative. */
export interface DirectorySource {
  /** A name for error messages (the directory path). */
  readonly name: string;
  /** The text of a file, or undefined when it does not exist. */
  readText(name: string): Promise<string | undefined>;
  /** A ByteSource over a file, or undefined when it does not exist. */
  open(name: string): Promise<ByteSource | undefined>;
  /** Names of the files in the directory (not recursive). */
  list(): Promise<string[]>;
}

/** A DirectorySource over named ByteSources (browser `File`s through `blobSource`, generated files in tests). */
export function sourcesDirectory(
  files: ReadonlyMap<string, ByteSource> | Readonly<Record<string, ByteSource>>,
  name = 'files',
): DirectorySource {
  const map: ReadonlyMap<string, ByteSource> = files instanceof Map ? files : new Map(Object.entries(files));
  const decoder = new TextDecoder('utf-8');
  return {
    name,
    async readText(file) {
      const source = map.get(file);
      return source === undefined ? undefined : decoder.decode(await source.read(0, source.byteLength));
    },
    async open(file) {
      return map.get(file);
    },
    async list() {
      return [...map.keys()];
    },
  };
}
