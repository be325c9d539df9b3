import {
  checkStepIds,
  checkStepInputs,
  type StepBody,
  type StepInputShapes,
  type StepPlan,
  StrataError,
  type Tensor,
} from '@strata/core';
import type { GpuTensor } from '../tensor/gpu-tensor.js';
import type { GpuRuntime } from './runtime.js';
import { type CompiledStep, StepRecording } from './step-recording.js';

interface Captured {
  readonly recording: StepRecording;
  readonly step: CompiledStep;
  readonly ids: GpuTensor;
  /** The i32 inputs beyond the ids, one per input shape, written by every run. */
  readonly inputs: readonly GpuTensor[];
  readonly output: GpuTensor;
}

/**
 * A WebGPU {@link StepPlan}: the first run calls the body once with recording on (nothing executes then), which
 * yields the step's dispatches with their pipelines, bind groups, buffers and workgroup counts; that run and every later
 * one write the ids and the position-dependent uniforms and encode the recorded commands. All activations of the step
 * live in the recording's own pool, allocated once and freed by {@link GpuStepPlan.dispose}.
 */
export class GpuStepPlan implements StepPlan {
  private captured: Captured | undefined;
  private disposed = false;
  /** {@link StepPlan.deferred}: runs record commands the GPU executes after the submit. */
  readonly deferred = true;

  constructor(
    private readonly runtime: GpuRuntime,
    /** Ids per run. */
    readonly rows: number,
    private readonly body: StepBody,
    /** {@link StepPlan.inputShapes}. */
    readonly inputShapes: StepInputShapes = [],
  ) {
    if (!Number.isInteger(rows) || rows < 1) {
      throw new StrataError('INVALID_ARGUMENT', `A step plan needs at least one row; got ${rows}.`);
    }
  }

  /** Dispatches one run encodes (0 before the first run). */
  get dispatchCount(): number {
    return this.captured?.step.commands.filter((command) => command.kind === 'dispatch').length ?? 0;
  }

  /** {@link StepPlan.run}. */
  run(ids: Int32Array | Tensor, firstPosition: number, inputs?: readonly Int32Array[]): Tensor {
    if (this.disposed) throw new StrataError('TENSOR_DISPOSED', 'This step plan was disposed; capture a new one.');
    checkStepIds(ids, this.rows);
    const data = checkStepInputs(inputs, this.inputShapes);
    this.captured ??= this.capture(firstPosition);
    const captured = this.captured;
    const recorder = this.runtime.recorder;
    if (ids instanceof Int32Array) recorder.write(captured.ids.tracked, 0, ids);
    else {
      // Ids on the device (a token an earlier step chose): copied in recording order, nothing read back.
      const source = this.runtime.tensor(ids, 'i32', 'step ids');
      recorder.copy(source.tracked, 0, captured.ids.tracked, 0, this.rows * 4);
    }
    for (const [index, input] of captured.inputs.entries()) recorder.write(input.tracked, 0, data[index]!);
    const dynamic = captured.step.dynamicUniforms;
    if (dynamic !== undefined) recorder.write(dynamic, 0, captured.step.uniformsAt(firstPosition));
    recorder.replay(captured.step.commands);
    // Host writes of the next run must not overtake this run's commands (see Recorder.write).
    captured.ids.tracked.lastBatch = recorder.batch;
    for (const input of captured.inputs) input.tracked.lastBatch = recorder.batch;
    if (dynamic !== undefined) dynamic.lastBatch = recorder.batch;
    return this.runtime.view(captured.output, captured.output.shape);
  }

  /** {@link StepPlan.dispose}: frees the step's buffers once the commands already recorded have been submitted. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const captured = this.captured;
    if (captured === undefined) return;
    this.runtime.recorder.afterSubmit(() => {
      captured.step.destroy();
      captured.recording.pool.destroy();
    });
  }

  private capture(firstPosition: number): Captured {
    const { runtime } = this;
    const recorder = runtime.recorder;
    if (recorder.capture !== undefined) {
      throw new StrataError('STEP_CAPTURE', 'A step is already being captured; plans cannot be captured inside one.');
    }
    const recording = new StepRecording(runtime.device, firstPosition);
    recorder.capture = recording;
    let ids: GpuTensor;
    let inputs: GpuTensor[];
    let output: GpuTensor;
    try {
      ids = runtime.allocate('i32', [this.rows]);
      inputs = this.inputShapes.map((shape) => runtime.allocate('i32', [...shape]));
      // The body may hand its ids and inputs back to the pool; the buffers are still the ones each run writes first.
      const idsView = runtime.view(ids, ids.shape);
      const inputViews = inputs.map((input) => runtime.view(input, input.shape));
      output = runtime.tensor(this.body(idsView, firstPosition, inputViews), undefined, 'step output');
      idsView.dispose();
      for (const view of inputViews) view.dispose();
      // An async op (a read) refused inside the body rejects its own promise; the capture fails too.
      if (recording.failure !== undefined) throw recording.failure;
    } catch (error) {
      recording.pool.destroy();
      throw error;
    } finally {
      recorder.capture = undefined;
    }
    return { recording, step: recording.finish(), ids, inputs, output };
  }
}
