import { MAX_UNIFORM_BYTES, type ShaderSpec } from './shader.js';

/** A compiled kernel: its pipeline and explicit bind group layout. */
export interface CachedPipeline {
  /** The `ShaderSpec.key` it was built from. */
  readonly key: string;
  /** The compute pipeline, entry point `main`. */
  readonly pipeline: GPUComputePipeline;
  /**
   * Bind group layout of its binding signature: binding 0 a uniform with dynamic offset, then one read-only or
   * read-write storage buffer per `ShaderSpec.storage` entry; shared by every pipeline of the same signature.
   */
  readonly layout: GPUBindGroupLayout;
}

/**
 * Compute pipelines by shader key, with explicit bind group layouts (binding 0: dynamic-offset uniform; then storage
 * buffers) shared by every kernel of the same binding signature. Pipelines are built once and live as long as the device.
 */
export class PipelineCache {
  private readonly pipelines = new Map<string, CachedPipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  constructor(private readonly device: GPUDevice) {}

  /** Number of pipelines built so far. */
  get size(): number {
    return this.pipelines.size;
  }

  /** The pipeline for a spec, built on first use. */
  get(spec: ShaderSpec): CachedPipeline {
    const cached = this.pipelines.get(spec.key);
    if (cached !== undefined) return cached;
    const layout = this.layoutFor(spec.storage.map((access) => (access === 'read' ? 'r' : 'w')).join(''));
    const module = this.device.createShaderModule({ code: spec.code(), label: spec.key });
    const pipeline = this.device.createComputePipeline({
      label: spec.key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const entry = { key: spec.key, pipeline, layout };
    this.pipelines.set(spec.key, entry);
    return entry;
  }

  private layoutFor(signature: string): GPUBindGroupLayout {
    const existing = this.layouts.get(signature);
    if (existing !== undefined) return existing;
    const entries: GPUBindGroupLayoutEntry[] = [
      {
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: MAX_UNIFORM_BYTES },
      },
    ];
    for (let index = 0; index < signature.length; index++) {
      entries.push({
        binding: index + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: signature[index] === 'r' ? 'read-only-storage' : 'storage' },
      });
    }
    const layout = this.device.createBindGroupLayout({ entries, label: `layout:${signature}` });
    this.layouts.set(signature, layout);
    return layout;
  }
}
