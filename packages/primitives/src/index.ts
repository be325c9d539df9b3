/** @packageDocumentation @strata/primitives — see README.md. */
export {};
