/** Node-only byte sources (file system). Imported through the `@strata/loaders/node` export, never by browser bundles. */
export {};
