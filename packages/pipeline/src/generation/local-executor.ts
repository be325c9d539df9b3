import {
  type Backend,
  createScopedBackend,
  type KeyValuePrecision,
  type ScopedBackend,
  type StepPlan,
  type Tensor,
} from '@strata/core';
import type { CompleteModel } from '@strata/models';
import {
  allocateLayerCaches,
  disposeLayerCaches,
  type CacheGeometry,
  type LayerCaches,
} from '../cache/layer-caches.js';
import { chooseToken } from '../sampling/token-sampler.js';
import { DecodeAhead } from './decode-ahead.js';
import type { ForwardRequest, ForwardResult, ModelExecutor } from './executor.js';

/** Options of {@link LocalExecutor}. */
export interface LocalExecutorOptions {
  /** Tokens the caches hold. */
  readonly contextLength: number;
  /** Most ids per step. */
  readonly chunkSize: number;
  /** Numerics and storage of the KV caches (default `'f32'`; see `RuntimeOptions.cacheType`). */
  readonly cacheType?: KeyValuePrecision;
  /** One-token steps replay a captured step plan (default true; see `RuntimeOptions.capturedDecode`). */
  readonly capturedDecode?: boolean;
  /**
   * Greedy decode steps start the next step on the device before the token is read back (default true; needs
   * `capturedDecode`; see {@link DecodeAhead}).
   */
  readonly decodeAhead?: boolean;
}

/**
 * Runs a whole model on one backend: embed → layers → (last row) lm head → token choice, recorded as one step, with
 * one read at the end (the token id, plus the logits when asked).
 */
export class LocalExecutor implements ModelExecutor {
  /** Logit columns: the model's vocabulary size. */
  readonly vocabularySize: number;
  /** Tokens the caches were sized for (`LocalExecutorOptions.contextLength`, not the model's trained context). */
  readonly contextLength: number;
  /** Most ids one `forward` may carry; sliding-window ring caches are sized for it. */
  readonly chunkSize: number;
  /** Capacity and window of every layer's cache, in layer order (a windowed layer may hold fewer rows). */
  readonly cacheGeometry: readonly CacheGeometry[];
  private readonly layerCaches: LayerCaches;
  private readonly capturedDecode: boolean;
  /** The one-token step (embed → layers → lm head), captured on the first decode step. */
  private decodePlan: StepPlan | undefined;
  /** Greedy steps decoded one ahead, when enabled. */
  private readonly ahead: DecodeAhead | undefined;
  private readonly backend: ScopedBackend;

  /**
   * `backend` is the one the model's weights live on. Each step runs in a tensor scope of it
   * ({@link createScopedBackend}): pass a scoped backend that the model was also built on (as `loadTextPipeline` does)
   * and every tensor of the step, embedding and lm head included, is freed when the step ends.
   */
  constructor(
    private readonly model: CompleteModel,
    backend: Backend,
    options: LocalExecutorOptions,
  ) {
    this.backend = createScopedBackend(backend);
    this.vocabularySize = model.vocabularySize;
    this.contextLength = options.contextLength;
    this.chunkSize = options.chunkSize;
    this.layerCaches = allocateLayerCaches(
      this.backend,
      model.cacheSpecs,
      options.contextLength,
      options.chunkSize,
      options.cacheType,
    );
    this.cacheGeometry = this.layerCaches.geometry;
    this.capturedDecode = options.capturedDecode ?? true;
    this.ahead =
      this.capturedDecode && (options.decodeAhead ?? true)
        ? new DecodeAhead(this.backend, options.contextLength)
        : undefined;
  }

  /** Bytes of the KV caches on the device. */
  get cacheByteLength(): number {
    return this.layerCaches.byteLength;
  }

  /**
   * {@link ModelExecutor.forward}: uploads the ids, embeds them, runs every layer (writing keys and values for positions
   * `firstPosition …` into the caches), then ends the step with {@link finishStep}. The step runs in a tensor scope:
   * whatever it made and did not dispose is freed when it ends (only the caches outlive it). Backend errors (shape,
   * device) surface from the step's read or flush.
   */
  async forward(request: ForwardRequest): Promise<ForwardResult> {
    const { backend, model } = this;
    if (this.ahead !== undefined) {
      if (DecodeAhead.applies(request)) {
        this.decodePlan ??= backend.captureStep(1, (ids, firstPosition) => this.logits(ids, firstPosition));
        // Outside a step scope: the token of the step started ahead must outlive this call. A plan that computes
        // at once (the CPU) gains nothing from it and takes the plain path.
        if (this.decodePlan.deferred) return { token: await this.ahead.step(this.decodePlan, request) };
      } else {
        // Any other step changes what the guessed step saw: it is dropped first.
        await this.ahead.cancel();
      }
    }
    // Every op is recorded before the step's first await (the read), so the scope sees the whole step. A captured
    // plan owns what its body allocates when it is captured (see createScopedBackend).
    return inStepScope(backend, () => {
      if (this.capturedDecode && request.ids.length === 1 && wantsLogits(request)) {
        this.decodePlan ??= backend.captureStep(1, (ids, firstPosition) => this.logits(ids, firstPosition));
        return readStepResult(backend, this.decodePlan.run(request.ids, request.firstPosition), request);
      }
      const ids = backend.upload(request.ids, [request.ids.length]);
      const hidden = this.hidden(ids, request.firstPosition);
      backend.dispose(ids);
      return finishStep(backend, hidden, (last) => model.lmHead(last), request);
    });
  }

  /**
   * Hands the decode plan and the KV caches back to the backend; the executor cannot run steps afterwards. The model's
   * weights stay.
   */
  async dispose(): Promise<void> {
    await this.ahead?.cancel();
    this.decodePlan?.dispose();
    this.decodePlan = undefined;
    disposeLayerCaches(this.backend, this.layerCaches);
  }

  /** Embeds `ids` and runs every layer at positions `firstPosition …` (writing the caches): the last hidden state. */
  private hidden(ids: Tensor, firstPosition: number): Tensor {
    const { backend, model } = this;
    return transformAndRelease(backend, model.embed(ids), (input) =>
      model.transform(input, { backend, firstPosition, caches: this.layerCaches.caches }),
    );
  }

  /** The body of the decode plan: logits `[1, vocabulary]` of one token at `firstPosition`. */
  private logits(ids: Tensor, firstPosition: number): Tensor {
    const hidden = this.hidden(ids, firstPosition);
    const logits = this.model.lmHead(hidden);
    this.backend.dispose(hidden);
    return logits;
  }
}

/** Whether a step runs the lm head (it wants a token or logits). */
function wantsLogits(request: Pick<ForwardRequest, 'choice' | 'returnLogits'>): boolean {
  return request.choice !== undefined || request.returnLogits === true;
}

/**
 * Runs one forward step in a tensor scope of `backend`: the ops `step` records before its first `await` (a step records
 * everything, then reads back) are disposed when it settles, whatever it forgot to dispose itself.
 */
export async function inStepScope<T>(backend: ScopedBackend, step: () => Promise<T>): Promise<T> {
  const scope = backend.openScope();
  try {
    return await scope.run(step);
  } finally {
    scope.close();
  }
}

/** Applies `step` to `input` and disposes the input unless the step returned it unchanged. */
export function transformAndRelease(backend: Backend, input: Tensor, step: (input: Tensor) => Tensor): Tensor {
  const output = step(input);
  if (output !== input) backend.dispose(input);
  return output;
}

/**
 * Ends a step on the stage that holds the lm head: runs it on the last row only when a token or logits are wanted,
 * records the token choice, and reads back just what was asked. Without either, flushes so prefill chunks run.
 */
export async function finishStep(
  backend: Backend,
  hidden: Tensor,
  lmHead: (hidden: Tensor) => Tensor,
  request: Pick<ForwardRequest, 'choice' | 'returnLogits'>,
): Promise<ForwardResult> {
  if (!wantsLogits(request)) {
    backend.dispose(hidden);
    await backend.flush();
    return {};
  }
  const rows = hidden.shape[0] ?? 1;
  const last = rows === 1 ? hidden : backend.sliceRows(hidden, rows - 1, 1);
  if (last !== hidden) backend.dispose(hidden);
  const logits = lmHead(last);
  backend.dispose(last);
  return readStepResult(backend, logits, request);
}

/**
 * Records the token choice on `logits` (the last row's, `[1, vocabulary]`), reads back what `request` asks for and
 * disposes the logits.
 */
export async function readStepResult(
  backend: Backend,
  logits: Tensor,
  request: Pick<ForwardRequest, 'choice' | 'returnLogits'>,
): Promise<ForwardResult> {
  let token: Tensor | undefined;
  try {
    // Awaited only now: the step's ops are recorded (and mostly submitted), so the device works meanwhile.
    const choice = await request.choice;
    token = choice === undefined ? undefined : chooseToken(backend, logits, choice);
    const logitValues = request.returnLogits === true ? ((await backend.read(logits)) as Float32Array) : undefined;
    const tokenValue = token === undefined ? undefined : (await backend.read(token))[0];
    return {
      ...(tokenValue === undefined ? {} : { token: tokenValue }),
      ...(logitValues === undefined ? {} : { logits: logitValues }),
    };
  } finally {
    backend.dispose(logits);
    if (token !== undefined) backend.dispose(token);
  }
}
