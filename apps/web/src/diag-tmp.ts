import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { bytesSource } from '@strata/loaders';
import { TextPipeline } from '@strata/pipeline';
export async function diag(inputIds: number[], expectedRow: number[], disable: boolean) {
  const bytes = new Uint8Array(await (await fetch('/model.gguf')).arrayBuffer());
  const backend = await createWebGpuBackend(disable ? { disableFeatures: ['subgroups', 'shader-f16'] } : {});
  const pipeline = await TextPipeline.load(bytesSource(bytes, 'model.gguf'), { backend, contextLength: 64 });
  const gen = pipeline.generate(inputIds, {
    maxTokens: 12,
    logprobs: 3,
    returnLogits: true,
    ignoreEndOfGeneration: true,
  });
  const steps: unknown[] = [];
  let first: Float32Array | undefined;
  for await (const d of gen) {
    if (d.logits && !first) first = d.logits;
    steps.push(d.topLogprobs?.map((t) => [t.token, +t.logprob.toFixed(5)]));
  }
  let max = 0;
  for (let i = 0; i < expectedRow.length; i++) max = Math.max(max, Math.abs(first![i]! - expectedRow[i]!));
  const r = await gen.result;
  return { tokens: r.tokens, max, steps: steps.slice(5, 8), features: backend.features };
}
