import { StrataError } from '@strata/core';
import { blobSource } from './blob-source.js';
import type { ByteSource } from './byte-source.js';
import { type DirectorySource, sourcesDirectory } from './directory-source.js';
import { type UrlSourceOptions, urlSource } from './url-source.js';

/**
 * A DirectorySource over browser `File`s (a directory pick, a drop of several files): each is found by its base name.
 */
export function blobsDirectory(files: Iterable<File>, name = 'files'): DirectorySource {
  const sources = new Map<string, ByteSource>();
  for (const file of files) sources.set(file.name.slice(file.name.lastIndexOf('/') + 1), blobSource(file));
  return sourcesDirectory(sources, name);
}

/** Options of {@link urlDirectory}. */
export interface UrlDirectoryOptions extends UrlSourceOptions {
  /** The file names the directory holds (HTTP cannot list a folder), for example from a hub API. */
  readonly files: readonly string[];
}

/**
 * A DirectorySource over files served under one base URL (`https://host/org/model/resolve/main/`): text files are
 * fetched whole, others opened as range-reading {@link urlSource}s. Only the names in `files` exist; a listed file the
 * server does not have reads as absent (404) and other failures are `NETWORK_ERROR`.
 */
export function urlDirectory(baseUrl: string, options: UrlDirectoryOptions): DirectorySource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const fetchFunction = options.fetch ?? globalThis.fetch;
  const listed = new Set(options.files);
  const urlOf = (name: string) => `${base}${name.split('/').map(encodeURIComponent).join('/')}`;
  return {
    name: baseUrl,
    async readText(name) {
      if (!listed.has(name)) return undefined;
      let response: Response;
      try {
        response = await fetchFunction(urlOf(name), { headers: { ...(options.headers ?? {}) } });
      } catch (cause) {
        throw new StrataError('NETWORK_ERROR', `Fetching ${urlOf(name)} failed; check the network.`, {
          cause,
          details: { url: urlOf(name) },
        });
      }
      if (response.status === 404) return undefined;
      if (!response.ok) {
        throw new StrataError('NETWORK_ERROR', `Fetching ${urlOf(name)} answered ${response.status}.`, {
          details: { url: urlOf(name), status: response.status },
        });
      }
      return response.text();
    },
    async open(name) {
      return listed.has(name) ? urlSource(urlOf(name), options) : undefined;
    },
    async list() {
      return [...listed];
    },
  };
}
