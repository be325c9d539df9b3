/**
 * Node-only byte sources and helpers (file system). Imported through the `@strata/loaders/node` export, never by browser
 * bundles: this is the only module of the package that imports `node:fs`.
 * @packageDocumentation
 */
export { fileSource, directorySource } from './node/file-source.js';
export { openGgufFile, writeGgufFile } from './node/gguf-files.js';
