import { MAX_UNIFORM_BYTES, type ShaderSpec, type StorageAccess } from './shader.js';

/** One compiled kernel as a {@link KernelManifest} lists it: enough to build it again without the kernel's code. */
export interface KernelManifestEntry {
  /** The `ShaderSpec.key`. */
  readonly key: string;
  /** The WGSL source. */
  readonly code: string;
  /** Access of each storage binding, from binding 1 on. */
  readonly storage: readonly StorageAccess[];
}

/** The kernels a model used on one device: saved after a run, compiled ahead of time on the next start. */
export type KernelManifest = readonly KernelManifestEntry[];

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
  private readonly sources = new Map<string, KernelManifestEntry>();
  private readonly compiling = new Map<string, Promise<void>>();
  /** Pipelines built ahead from a manifest, used only once a spec of the same key proves to have the same code. */
  private readonly ahead = new Map<
    string,
    { readonly pipeline: CachedPipeline; readonly source: KernelManifestEntry }
  >();

  constructor(private readonly device: GPUDevice) {}

  /** Number of pipelines built so far. */
  get size(): number {
    return this.pipelines.size;
  }

  /** The pipeline for a spec, built on first use. */
  get(spec: ShaderSpec): CachedPipeline {
    const cached = this.pipelines.get(spec.key);
    if (cached !== undefined) return cached;
    const code = spec.code();
    const built = this.ahead.get(spec.key);
    if (built !== undefined) {
      this.ahead.delete(spec.key);
      // A manifest saved by another version of the kernels may hold other code under the same key: use only a match.
      if (built.source.code === code && built.source.storage.join() === spec.storage.join()) {
        this.pipelines.set(spec.key, built.pipeline);
        this.sources.set(spec.key, built.source);
        return built.pipeline;
      }
    }
    const layout = this.layoutFor(spec.storage.map((access) => (access === 'read' ? 'r' : 'w')).join(''));
    const module = this.device.createShaderModule({ code, label: spec.key });
    const pipeline = this.device.createComputePipeline({
      label: spec.key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const entry = { key: spec.key, pipeline, layout };
    this.pipelines.set(spec.key, entry);
    this.sources.set(spec.key, { key: spec.key, code, storage: [...spec.storage] });
    return entry;
  }

  /** The kernels used so far, in the order of first use (those built ahead but never used are left out). */
  manifest(): KernelManifest {
    return [...this.sources.values()];
  }

  /**
   * Builds the manifest's kernels that are not built yet, all at once with `createComputePipelineAsync`, so a driver
   * that compiles in the background does so in parallel while the caller goes on (loading weights). Resolves when
   * every one is ready, to the number built. A kernel built ahead is used only when the spec asking for its key has
   * the same code (a manifest from other kernels is harmless); one whose build fails is built, and reports its error,
   * on first use.
   */
  async compileAhead(manifest: KernelManifest): Promise<number> {
    let built = 0;
    const builds = manifest.map(async (entry) => {
      if (this.pipelines.has(entry.key) || this.ahead.has(entry.key)) return;
      const running = this.compiling.get(entry.key);
      if (running !== undefined) return running;
      const build = (async () => {
        const layout = this.layoutFor(entry.storage.map((access) => (access === 'read' ? 'r' : 'w')).join(''));
        const module = this.device.createShaderModule({ code: entry.code, label: entry.key });
        try {
          const pipeline = await this.device.createComputePipelineAsync({
            label: entry.key,
            layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
            compute: { module, entryPoint: 'main' },
          });
          if (this.pipelines.has(entry.key)) return;
          const source = { key: entry.key, code: entry.code, storage: [...entry.storage] };
          this.ahead.set(entry.key, { pipeline: { key: entry.key, pipeline, layout }, source });
          built += 1;
        } catch {
          // Left for get(), which builds it synchronously and reports the error where the kernel is used.
        } finally {
          this.compiling.delete(entry.key);
        }
      })();
      this.compiling.set(entry.key, build);
      return build;
    });
    await Promise.all(builds);
    return built;
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
