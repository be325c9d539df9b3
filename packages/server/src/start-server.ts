import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createServerApp, type ServerApp, type ServerAppOptions } from './server-app.js';

/** Options of {@link startServer}. */
export interface StartServerOptions extends ServerAppOptions {
  /** Interface to bind (default `127.0.0.1`: loopback only; give `0.0.0.0` to serve the network). */
  readonly host?: string;
  /** Port (default 8080; 0 picks a free one). */
  readonly port?: number;
}

/** A listening server. */
export interface RunningServer extends ServerApp {
  /** `http://host:port`. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /**
   * Graceful shutdown: stops accepting connections, ends running streams with an error chunk (their schedulers close),
   * then closes the remaining connections. Resolves once everything is released.
   */
  shutdown(): Promise<void>;
}

/** Starts the OpenAI-compatible server on Node (see {@link createServerApp} for the routes). */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const served = createServerApp(options);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const listening = serve({ fetch: served.app.fetch, hostname: host, port: options.port ?? 8080 }, () =>
      resolve(listening),
    );
    listening.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let shutdown: Promise<void> | undefined;
  return {
    ...served,
    url: `http://${shownHost}:${port}`,
    port,
    shutdown() {
      shutdown ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await served.close();
        // Streams have ended; idle keep-alive connections would hold the server open.
        const http = server as { closeAllConnections?: () => void };
        setTimeout(() => http.closeAllConnections?.(), 100).unref();
        await closed;
      })();
      return shutdown;
    },
  };
}
