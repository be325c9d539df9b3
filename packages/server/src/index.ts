/** @packageDocumentation @strata/server — see README.md. */
export { isAuthorized } from './authorization.js';
export { createServerApp, type ServerApp, type ServerAppOptions } from './server-app.js';
export { createServerMetrics, type ServerMetrics } from './server-metrics.js';
export { type RunningServer, type StartServerOptions, startServer } from './start-server.js';
