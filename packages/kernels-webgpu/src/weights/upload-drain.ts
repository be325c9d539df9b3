/** Bytes a device's queue takes from weight uploads between two drains. */
const DRAIN_EVERY_BYTES = 256 * 1024 * 1024;

/**
 * Bytes written to each device's queue since it last drained, across uploads: a model's weights are uploaded one
 * tensor after another, and the queue drains once every {@link DRAIN_EVERY_BYTES} of them, not after each tensor (a
 * wait per tensor stopped the host from reading the next one while the GPU copied the last).
 */
const bytesSinceDrain = new WeakMap<GPUDevice, { bytes: number }>();

/**
 * Counts `bytes` more uploaded to `device` and, once 256 MiB have gone in since the last drain, waits for the queue to
 * finish its copies: Dawn stages every host write (and every buffer mapped at creation) in memory of its own, which a
 * drain lets it give back, so a model's upload holds a bounded amount of staging memory.
 */
export async function countUploadedBytes(device: GPUDevice, bytes: number): Promise<void> {
  let counter = bytesSinceDrain.get(device);
  if (counter === undefined) {
    counter = { bytes: 0 };
    bytesSinceDrain.set(device, counter);
  }
  counter.bytes += bytes;
  if (counter.bytes < DRAIN_EVERY_BYTES) return;
  counter.bytes = 0;
  await device.queue.onSubmittedWorkDone();
}
