/** @packageDocumentation @strata/models — see README.md. */
export {};
