import { StrataError } from '@strata/core';

/**
 * Collects asynchronous device errors (device loss, uncaptured validation and out-of-memory errors, popped error
 * scopes) and raises the first one at the next synchronisation point (`read`/`flush`), as the Backend contract says.
 */
export class ErrorTracker {
  private pending: StrataError | undefined;
  private lostError: StrataError | undefined;
  private readonly scopes: Promise<void>[] = [];

  constructor(private readonly device: GPUDevice) {
    device.lost.then((info) => {
      if (info.reason === 'destroyed') return;
      this.lostError = new StrataError(
        'DEVICE_LOST',
        `The GPU device was lost (${info.message || info.reason}); create a new backend and upload the weights again.`,
        { details: { reason: info.reason } },
      );
    });
    const onError = (event: Event) => this.record((event as GPUUncapturedErrorEvent).error, 'recorded work');
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else (device as { onuncapturederror: unknown }).onuncapturederror = onError;
  }

  /** True once the device is lost. */
  get lost(): boolean {
    return this.lostError !== undefined;
  }

  /** Throws at once when the device is lost (nothing can be recorded any more). */
  assertAlive(): void {
    if (this.lostError !== undefined) throw this.lostError;
  }

  /** Opens validation and out-of-memory scopes around synchronous work; errors inside surface later via {@link check}. */
  capture<T>(what: string, work: () => T): T {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    try {
      return work();
    } finally {
      const validation = this.device.popErrorScope();
      const memory = this.device.popErrorScope();
      this.scopes.push(
        Promise.all([validation, memory]).then(
          ([first, second]) => {
            if (first !== null) this.record(first, what);
            if (second !== null) this.record(second, what);
          },
          () => {},
        ),
      );
    }
  }

  /** Like {@link capture} but waits for the scopes and throws their error right away (uploads, allocations). */
  async captureNow<T>(what: string, work: () => T | Promise<T>): Promise<T> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    try {
      result = await work();
    } finally {
      const validation = await this.device.popErrorScope().catch(() => null);
      const memory = await this.device.popErrorScope().catch(() => null);
      if (validation !== null) this.record(validation, what);
      if (memory !== null) this.record(memory, what);
    }
    await this.check();
    return result;
  }

  /** Waits for outstanding error scopes and throws the first error seen since the last check. */
  async check(): Promise<void> {
    if (this.scopes.length > 0) await Promise.all(this.scopes.splice(0));
    if (this.lostError !== undefined) throw this.lostError;
    const error = this.pending;
    this.pending = undefined;
    if (error !== undefined) throw error;
  }

  private record(error: GPUError, what: string): void {
    if (this.pending !== undefined) return;
    const outOfMemory = typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError;
    this.pending =
      outOfMemory || /out of memory/i.test(error.message)
        ? new StrataError(
            'OUT_OF_MEMORY',
            `The GPU ran out of memory during ${what}: use a smaller model, a shorter context or a smaller quantization.`,
            { details: { message: error.message } },
          )
        : new StrataError('GPU_VALIDATION', `WebGPU rejected ${what}: ${error.message}`, {
            details: { message: error.message },
          });
  }
}
