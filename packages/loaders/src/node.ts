/**
 * Node-only byte sources and helpers (file system). Imported through the `@strata/loaders/node` export, never by browser
 * bundles: this entry and the `node/` folder behind it are the only modules of the package that import `node:fs`.
 * @packageDocumentation
 */
export { directorySource, fileSource } from './node/file-source.js';
export { openGgufFile, writeGgufFile } from './node/gguf-files.js';
export { openModelFiles } from './node/model-files.js';
export { defaultCacheDirectory, directoryCacheStore } from './node/directory-cache-store.js';
export { acquireEntryLock, type EntryLockTimings } from './node/entry-lock.js';
