/** @packageDocumentation @strata/pipeline — see README.md. */
export {};
