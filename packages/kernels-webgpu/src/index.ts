/** @packageDocumentation @strata/kernels-webgpu — see README.md. */
export {};
