/**
 * A test-only bundle (never part of the app): the loaders' cache as a global, so a Playwright test can drive the
 * Cache API store in a page and the OPFS store in a worker built from the same script.
 */
import { cacheApiStore, ModelCache, opfsCacheStore } from '@strata/loaders';

/** What the bundle exposes as `globalThis.strataCacheProbe`. */
export const probe = { ModelCache, cacheApiStore, opfsCacheStore };
