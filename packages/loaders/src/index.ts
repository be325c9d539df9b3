/** @packageDocumentation @strata/loaders — see README.md. */
export {};
