/**
 * Times many dispatches recorded into one compute pass: GPU timestamps at the pass's start and end when the device has
 * `timestamp-query`, and the wall time from submit to completion always.
 */
export interface Timing {
  /** Seconds per dispatch from timestamps (undefined without `timestamp-query`). */
  readonly gpuSeconds: number | undefined;
  /** Seconds per dispatch from wall time (includes submit and completion latency, spread over the dispatches). */
  readonly wallSeconds: number;
}

/** Records `count` dispatches through `encode` into one pass, submits, and times them (after one warm-up batch). */
export async function timeDispatches(
  device: GPUDevice,
  timestamps: boolean,
  count: number,
  encode: (pass: GPUComputePassEncoder, index: number) => void,
): Promise<Timing> {
  await run(device, false, Math.min(count, 8), encode);
  return run(device, timestamps, count, encode);
}

async function run(
  device: GPUDevice,
  timestamps: boolean,
  count: number,
  encode: (pass: GPUComputePassEncoder, index: number) => void,
): Promise<Timing> {
  const encoder = device.createCommandEncoder();
  let querySet: GPUQuerySet | undefined;
  let resolve: GPUBuffer | undefined;
  let readback: GPUBuffer | undefined;
  if (timestamps) {
    querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }
  const pass = encoder.beginComputePass(
    querySet === undefined
      ? {}
      : { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } },
  );
  for (let index = 0; index < count; index++) encode(pass, index);
  pass.end();
  if (querySet !== undefined && resolve !== undefined && readback !== undefined) {
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, 16);
  }
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const wallSeconds = (performance.now() - start) / 1000 / count;
  let gpuSeconds: number | undefined;
  if (readback !== undefined) {
    await readback.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(readback.getMappedRange());
    gpuSeconds = Number((end as bigint) - (begin as bigint)) / 1e9 / count;
    readback.unmap();
    readback.destroy();
    resolve?.destroy();
    querySet?.destroy();
  }
  return { gpuSeconds, wallSeconds };
}
