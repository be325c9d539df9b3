/** @packageDocumentation @strata/kernels-cpu — see README.md. */
export {};
