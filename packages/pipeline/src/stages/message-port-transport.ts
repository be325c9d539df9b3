import { StrataError } from '@strata/core';
import type { StageHandler, StageReply, StageRequest, Transport } from './transport.js';

/**
 * The part of a `MessagePort` the transport uses: browsers' `MessagePort`/`Worker`/`DedicatedWorkerGlobalScope` and
 * Node's `worker_threads` `MessagePort`/`parentPort` (which are EventTargets) all have it.
 */
export interface MessagePortLike {
  /**
   * Sends a structured-cloneable message, moving the listed buffers to the other side (they are detached here). A
   * throw is reported to the requester as `TRANSPORT_ERROR`.
   */
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  /** `listener` receives `MessageEvent`s (typed `Event` so that Node's and the DOM's ports both fit). */
  addEventListener(type: 'message', listener: (event: Event) => void): void;
  /** Detaches a listener added by `addEventListener` (on `close` of the transport, or when serving stops). */
  removeEventListener(type: 'message', listener: (event: Event) => void): void;
  /** Browsers queue messages until `start()` when listening through addEventListener. */
  start?(): void;
  /** Closes the port when the transport closes (after its pending requests were rejected); absent on `Worker`s. */
  close?(): void;
}

interface Envelope<T> {
  readonly id: number;
  readonly body: T;
}

/** Buffers worth transferring (not copying): the activations and logits. */
function transferablesOf(body: StageRequest | StageReply): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  if ('hidden' in body && body.hidden.buffer instanceof ArrayBuffer) buffers.push(body.hidden.buffer);
  if ('logits' in body && body.logits !== undefined && body.logits.buffer instanceof ArrayBuffer) {
    buffers.push(body.logits.buffer);
  }
  return buffers;
}

/**
 * A transport to a stage served on the other end of `port` (see {@link serveStageOnPort}), e.g. a worker thread that
 * holds the later layers. Activation buffers are transferred, not copied: do not reuse them after sending.
 */
export function messagePortTransport(port: MessagePortLike): Transport {
  let nextId = 0;
  const pending = new Map<number, { resolve: (reply: StageReply) => void; reject: (error: unknown) => void }>();
  const listener = (event: Event) => {
    const envelope = (event as MessageEvent).data as Envelope<StageReply>;
    const waiter = pending.get(envelope.id);
    if (waiter === undefined) return;
    pending.delete(envelope.id);
    waiter.resolve(envelope.body);
  };
  port.addEventListener('message', listener);
  port.start?.();
  return {
    request(message) {
      const id = nextId++;
      return new Promise<StageReply>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        try {
          port.postMessage({ id, body: message } satisfies Envelope<StageRequest>, transferablesOf(message));
        } catch (cause) {
          pending.delete(id);
          reject(new StrataError('TRANSPORT_ERROR', 'Could not post a message to the next pipeline stage.', { cause }));
        }
      });
    },
    close() {
      port.removeEventListener('message', listener);
      for (const waiter of pending.values()) {
        waiter.reject(new StrataError('TRANSPORT_ERROR', 'The transport to the next pipeline stage was closed.'));
      }
      pending.clear();
      port.close?.();
    },
  };
}

/**
 * Answers stage requests arriving on `port` with `handler` (a `StageServer`), one at a time in arrival order.
 * Returns a function that stops serving.
 */
export function serveStageOnPort(handler: StageHandler, port: MessagePortLike): () => void {
  let queue: Promise<void> = Promise.resolve();
  const listener = (event: Event) => {
    const envelope = (event as MessageEvent).data as Envelope<StageRequest>;
    queue = queue.then(async () => {
      const reply = await handler.handle(envelope.body);
      port.postMessage({ id: envelope.id, body: reply } satisfies Envelope<StageReply>, transferablesOf(reply));
    });
  };
  port.addEventListener('message', listener);
  port.start?.();
  return () => port.removeEventListener('message', listener);
}
