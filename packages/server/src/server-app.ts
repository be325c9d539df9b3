import { StrataError } from '@strata/core';
import { type ApiModel, type EmbeddingApiModel, OpenAICompatibleApi, toOpenAIError } from '@strata/pipeline';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { streamSSE } from 'hono/streaming';
import { isAuthorized } from './authorization.js';
import { createServerMetrics, type ServerMetrics } from './server-metrics.js';

/** Options of {@link createServerApp}. */
export interface ServerAppOptions {
  /** The models served, by name (`model` in requests). */
  readonly models: readonly ApiModel[];
  /** Embedding models (`POST /v1/embeddings`), in the same namespace as `models`; closed with the server. */
  readonly embeddingModels?: readonly EmbeddingApiModel[];
  /** When set, every route but `GET /health` needs `Authorization: Bearer <apiKey>` (401 otherwise). */
  readonly apiKey?: string;
  /** When set, CORS is allowed for this origin (off by default). */
  readonly corsOrigin?: string;
  /** Largest request body in bytes (default 4 MiB); larger ones get 413. */
  readonly bodyLimitBytes?: number;
}

/** The HTTP application (a Web-standard `fetch` handler) and what it owns. */
export interface ServerApp {
  /** The Hono application: `app.fetch(request)` answers a `Request`. */
  readonly app: Hono;
  /** The in-process API the routes call. */
  readonly api: OpenAICompatibleApi;
  /** The Prometheus metrics. */
  readonly metrics: ServerMetrics;
  /** Closes every model's scheduler: running streams end with an error chunk; nothing new is taken. */
  close(): Promise<void>;
}

function errorJson(context: Context, error: unknown) {
  const { status, body } = toOpenAIError(error);
  return context.json(body, status as 400);
}

async function readJson(context: Context): Promise<unknown> {
  try {
    return await context.req.json();
  } catch (cause) {
    throw new StrataError('INVALID_ARGUMENT', 'The request body is not valid JSON.', {
      cause,
      details: { param: 'body' },
    });
  }
}

/**
 * The OpenAI-compatible routes over the models' schedulers: `POST /v1/chat/completions`, `POST /v1/completions`
 * (server-sent events with `stream: true`: `data: {chunk}` lines, then `data: [DONE]`), `GET /v1/models`,
 * `GET /health`, `GET /metrics`. A client that disconnects aborts its sequences at once (their KV pages are freed).
 */
export function createServerApp(options: ServerAppOptions): ServerApp {
  const api = new OpenAICompatibleApi(options.models, options.embeddingModels ?? []);
  const metrics = createServerMetrics(options.models);
  const app = new Hono();
  let closing = false;

  app.use('*', async (context, next) => {
    await next();
    metrics.observeRequest(context.req.routePath ?? context.req.path, context.res.status);
  });
  if (options.corsOrigin !== undefined) app.use('*', cors({ origin: options.corsOrigin }));
  app.use('*', async (context, next) => {
    if (options.apiKey === undefined || context.req.path === '/health') return next();
    if (isAuthorized(context.req.header('authorization'), options.apiKey)) return next();
    return context.json(
      {
        error: {
          message: 'Missing or wrong API key: send "Authorization: Bearer <key>".',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      },
      401,
    );
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: options.bodyLimitBytes ?? 4 * 1024 * 1024,
      onError: (context) =>
        context.json(
          {
            error: {
              message: `The request body is larger than ${options.bodyLimitBytes ?? 4 * 1024 * 1024} bytes.`,
              type: 'invalid_request_error',
              param: null,
              code: 'request_too_large',
            },
          },
          413,
        ),
    }),
  );

  app.get('/health', (context) =>
    closing ? context.json({ status: 'shutting down' }, 503) : context.json({ status: 'ok' }),
  );
  app.get('/metrics', async (context) =>
    context.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
  app.get('/v1/models', (context) => context.json(api.models.list()));
  app.get('/v1/models/:model', (context) => {
    const found = api.models.list().data.find((model) => model.id === context.req.param('model'));
    if (found !== undefined) return context.json(found);
    return errorJson(
      context,
      new StrataError('MODEL_NOT_FOUND', `The model '${context.req.param('model')}' does not exist.`),
    );
  });

  const completionRoute =
    (create: (body: never, signal: AbortSignal) => Promise<object | AsyncIterable<object>>) =>
    async (context: Context) => {
      const client = new AbortController();
      const signal = context.req.raw.signal;
      signal.addEventListener('abort', () => client.abort(), { once: true });
      let result: object | AsyncIterable<object>;
      try {
        result = await create((await readJson(context)) as never, client.signal);
      } catch (error) {
        return errorJson(context, error);
      }
      if (!(Symbol.asyncIterator in result)) return context.json(result);
      const chunks = result as AsyncIterable<object>;
      return streamSSE(context, async (stream) => {
        stream.onAbort(() => client.abort());
        try {
          for await (const chunk of chunks) {
            if (stream.aborted) break;
            await stream.writeSSE({ data: JSON.stringify(chunk) });
          }
          if (!stream.aborted) await stream.writeSSE({ data: '[DONE]' });
        } catch (error) {
          // A failure mid-stream (the server shutting down) ends the stream with an OpenAI error chunk.
          if (!stream.aborted) await stream.writeSSE({ data: JSON.stringify(toOpenAIError(error).body) });
        } finally {
          client.abort();
        }
      });
    };
  app.post(
    '/v1/chat/completions',
    completionRoute((body, signal) => api.chat.completions.create(body, { signal })),
  );
  app.post(
    '/v1/completions',
    completionRoute((body, signal) => api.completions.create(body, { signal })),
  );
  app.post('/v1/embeddings', async (context) => {
    try {
      return context.json(await api.embeddings.create((await readJson(context)) as never));
    } catch (error) {
      return errorJson(context, error);
    }
  });
  app.notFound((context) =>
    context.json(
      {
        error: {
          message: `No route ${context.req.method} ${context.req.path}.`,
          type: 'invalid_request_error',
          param: null,
          code: 'not_found',
        },
      },
      404,
    ),
  );
  app.onError((error, context) => errorJson(context, error));

  return {
    app,
    api,
    metrics,
    async close() {
      closing = true;
      await Promise.all(options.models.map(({ scheduler }) => scheduler.close()));
      for (const { embeddings } of options.embeddingModels ?? []) embeddings.dispose();
      metrics.dispose();
    },
  };
}
