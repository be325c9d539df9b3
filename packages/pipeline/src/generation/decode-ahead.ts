import type { ScopedBackend, StepPlan, Tensor } from '@strata/core';
import type { ForwardRequest } from './executor.js';

/** A decode step on its way: the token it chooses, on the device and (once read) on the host. */
interface PendingStep {
  /** Position the step's id was written at. */
  readonly firstPosition: number;
  /** The id the step consumed, once known on the host (a speculative step consumed its predecessor's choice). */
  readonly input: Promise<number>;
  /** The chosen token (i32 `[1]`), owned by this pending step until it is consumed or dropped. */
  readonly token: Tensor;
  /** The chosen token on the host. */
  readonly value: Promise<number>;
}

/**
 * Greedy decoding one step ahead: each decode step also starts the next one on the device, fed with the token the
 * device just chose (no read-back in between), so the CPU records step N + 1 while the GPU runs step N and the GPU never
 * waits for the host between tokens. When the next request is the one that was guessed (same position, same id:
 * the caller kept the chosen token), its step is already running; any other request drops the guess (the extra
 * cache row it wrote lies past the sequence and is overwritten before anything reads it).
 *
 * Applies only where the token is a pure function of the logits (greedy, no logit processors, no grammar mask, no
 * logits read back): {@link DecodeAhead.applies}.
 */
export class DecodeAhead {
  private ahead: PendingStep | undefined;

  constructor(
    private readonly backend: ScopedBackend,
    private readonly contextLength: number,
  ) {}

  /** Whether `request` can be decoded ahead: one id, plain greedy choice (not a promise), no logits wanted. */
  static applies(request: ForwardRequest): boolean {
    const choice = request.choice;
    return (
      request.ids.length === 1 &&
      request.returnLogits !== true &&
      choice !== undefined &&
      'kind' in choice &&
      choice.kind === 'greedy'
    );
  }

  /**
   * Runs the decode step of `request` through `plan` (reusing the step started ahead when it matches) and starts the
   * following one; resolves to the chosen token.
   */
  async step(plan: StepPlan, request: ForwardRequest): Promise<number> {
    const guess = this.ahead;
    this.ahead = undefined;
    let current: PendingStep;
    if (
      guess !== undefined &&
      guess.firstPosition === request.firstPosition &&
      (await guess.input.catch(() => -1)) === request.ids[0]
    ) {
      current = guess;
    } else {
      await this.drop(guess);
      current = this.launch(plan, request.ids, request.firstPosition, Promise.resolve(request.ids[0]!));
    }
    const next = request.firstPosition + 1;
    if (next < this.contextLength) this.ahead = this.launch(plan, current.token, next, current.value);
    try {
      return await current.value;
    } finally {
      this.backend.dispose(current.token);
    }
  }

  /** Drops the step started ahead (any request that is not its continuation does). */
  async cancel(): Promise<void> {
    const guess = this.ahead;
    this.ahead = undefined;
    await this.drop(guess);
  }

  private launch(plan: StepPlan, ids: Int32Array | Tensor, firstPosition: number, input: Promise<number>): PendingStep {
    const backend = this.backend;
    // Kept past the caller's step scope: the token belongs to this pending step until consumed or dropped.
    const token = backend.scope(() => {
      const logits = plan.run(ids, firstPosition);
      const chosen = backend.argmax(logits);
      backend.dispose(logits);
      return chosen;
    });
    const value = backend.read(token).then((values) => values[0]!);
    // A dropped guess may fail with the device; its failure surfaces only if someone awaits it.
    value.catch(() => {});
    return { firstPosition, input, token, value };
  }

  private async drop(step: PendingStep | undefined): Promise<void> {
    if (step === undefined) return;
    await step.value.catch(() => {});
    this.backend.dispose(step.token);
  }
}
