/**
 * A worker_threads entry for tests: serves the TAIL stage of the toy model (layers [workerData.start, 3)) on the
 * MessagePort passed in workerData. Test-only.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { createCpuBackend } from '@strata/kernels-cpu';
import { serveStageOnPort } from '../stages/message-port-transport.js';
import { StageServer } from '../stages/stage-server.js';
import { createToyModel, TOY_CONFIG } from './toy-model.js';

const { start, contextLength, chunkSize, port } = workerData as {
  start: number;
  contextLength: number;
  chunkSize: number;
  port: MessagePort;
};
const backend = createCpuBackend();
const model = await createToyModel(backend, TOY_CONFIG, { start, end: TOY_CONFIG.layers });
serveStageOnPort(new StageServer({ kind: 'tail', model, backend, contextLength, chunkSize }), port);
