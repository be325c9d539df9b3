import type { ApiModel } from '@strata/pipeline';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Prometheus metrics of a server, in a registry of its own (several servers may live in one process). */
export interface ServerMetrics {
  /** The registry `GET /metrics` renders. */
  readonly registry: Registry;
  /** Counts a finished HTTP request. */
  observeRequest(endpoint: string, status: number): void;
  /** Stops observing the schedulers' steps. */
  dispose(): void;
}

/** The `group` label of a page group: `full` for the full-attention layers, `window-N` for a window of N tokens. */
function groupLabel(window: number | undefined): string {
  return window === undefined ? 'full' : `window-${window}`;
}

/**
 * Requests by endpoint and status; per model: prompt and generated tokens, queue depth, running sequences, KV pages
 * used and free (every page group together, and per group: `full` for the full-attention layers, `window-N` for the
 * layers of a sliding window of N tokens, whose pages are given back once they fall out of it), prefix-cache hits,
 * preemptions, steps started ahead (launched, used, dropped), and a histogram of engine step times. Gauges and
 * totals are read from the schedulers when scraped.
 */
export function createServerMetrics(models: readonly ApiModel[]): ServerMetrics {
  const registry = new Registry();
  const labelNames = ['model'] as const;
  const requests = new Counter({
    name: 'strata_http_requests_total',
    help: 'HTTP requests by endpoint and status.',
    labelNames: ['endpoint', 'status'] as const,
    registers: [registry],
  });
  const fromSchedulers = (
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    read: (metrics: ApiModel['scheduler']['metrics']) => number,
  ) => {
    const Metric = kind === 'counter' ? Counter : Gauge;
    new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<'model'> | Gauge<'model'>) {
        this.reset();
        for (const { name: model, scheduler } of models) {
          const value = read(scheduler.metrics);
          if (this instanceof Gauge) this.set({ model }, value);
          else this.inc({ model }, value);
        }
      },
    });
  };
  fromSchedulers(
    'counter',
    'strata_prompt_tokens_total',
    'Prompt tokens computed (prefix-cache hits excluded).',
    (m) => m.promptTokens,
  );
  fromSchedulers('counter', 'strata_generated_tokens_total', 'Tokens generated.', (m) => m.generatedTokens);
  fromSchedulers('counter', 'strata_sequences_total', 'Sequences accepted.', (m) => m.requests);
  fromSchedulers('gauge', 'strata_queue_depth', 'Sequences waiting for a slot.', (m) => m.waiting);
  fromSchedulers('gauge', 'strata_running_sequences', 'Sequences running.', (m) => m.running);
  fromSchedulers(
    'gauge',
    'strata_kv_pages_used',
    'KV pages held by sequences and cached prefixes.',
    (m) => m.usedPages,
  );
  fromSchedulers('gauge', 'strata_kv_pages_free', 'KV pages free.', (m) => m.freePages);
  fromSchedulers(
    'gauge',
    'strata_kv_page_bytes',
    'Bytes of one KV page of every page group together.',
    (m) => m.bytesPerPage,
  );
  const perGroup = (
    name: string,
    help: string,
    read: (group: ApiModel['scheduler']['metrics']['pageGroups'][number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['model', 'group'] as const,
      registers: [registry],
      collect(this: Gauge<'model' | 'group'>) {
        this.reset();
        for (const { name: model, scheduler } of models) {
          for (const group of scheduler.metrics.pageGroups) {
            this.set({ model, group: groupLabel(group.window) }, read(group));
          }
        }
      },
    });
  perGroup(
    'strata_kv_group_pages_used',
    'KV pages of one page group held by sequences and cached prefixes.',
    (group) => group.usedPages,
  );
  perGroup('strata_kv_group_pages_free', 'KV pages of one page group free.', (group) => group.freePages);
  perGroup('strata_kv_group_page_bytes', 'Bytes of one KV page of one page group.', (group) => group.bytesPerPage);
  fromSchedulers('gauge', 'strata_prefix_cache_blocks', 'Blocks in the prefix cache.', (m) => m.prefixCache.blocks);
  fromSchedulers(
    'counter',
    'strata_prefix_cache_hits_total',
    'Prefix-cache blocks reused.',
    (m) => m.prefixCache.hitBlocks,
  );
  fromSchedulers(
    'counter',
    'strata_prefix_cache_hit_tokens_total',
    'Prompt tokens whose prefill the prefix cache saved.',
    (m) => m.prefixCache.hitTokens,
  );
  fromSchedulers(
    'counter',
    'strata_preemptions_total',
    'Sequences preempted for lack of KV pages.',
    (m) => m.preemptions,
  );
  for (const outcome of ['launched', 'used', 'dropped'] as const) {
    fromSchedulers(
      'counter',
      `strata_steps_ahead_${outcome}_total`,
      `Engine steps started on the device before the previous step was read back: ${outcome}.`,
      (m) => m.stepsAhead[outcome],
    );
  }
  const stepSeconds = new Histogram({
    name: 'strata_step_seconds',
    help: 'Wall time of one engine step (every running sequence advanced by one step).',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const stops = models.map(({ name, scheduler }) =>
    scheduler.observeSteps((report) => stepSeconds.observe({ model: name }, report.milliseconds / 1000)),
  );
  return {
    registry,
    observeRequest: (endpoint, status) => requests.inc({ endpoint, status: String(status) }),
    dispose: () => {
      for (const stop of stops) stop();
    },
  };
}
