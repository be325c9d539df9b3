/** How a kernel binds one storage buffer: `read` is `var<storage, read>`, `write` is `var<storage, read_write>`. */
export type StorageAccess = 'read' | 'write';

/**
 * A compute shader the pipeline cache can build. Binding layout of every kernel, all in `@group(0)`:
 * - `@binding(0)`: `var<uniform> params: Params` — the kernel's scalar parameters (≤ {@link MAX_UNIFORM_BYTES} bytes,
 *   4-byte scalars only), bound with a dynamic offset into the per-step uniform arena;
 * - `@binding(1 …)`: the storage buffers, in the order of {@link ShaderSpec.storage}.
 */
export interface ShaderSpec {
  /**
   * Deterministic cache key: the kernel name and every specialisation constant baked into the code, e.g.
   * `rms-norm:wg=256:sg=1:weight=1`. Two specs with one key must produce the same code.
   */
  readonly key: string;
  /** Builds the WGSL source; called once per key. Entry point `main`. */
  readonly code: () => string;
  /** Access of each storage binding, from binding 1 on. */
  readonly storage: readonly StorageAccess[];
}

/** Largest uniform struct a kernel may declare. */
export const MAX_UNIFORM_BYTES = 256;

const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

/** Builds the words of a uniform struct of 4-byte scalars, in declaration order. */
export class Uniforms {
  private readonly u32 = new Uint32Array(MAX_UNIFORM_BYTES / 4);
  private length = 0;

  /** Appends an unsigned 32-bit integer (`u32` field). */
  u(value: number): this {
    this.u32[this.next()] = value >>> 0;
    return this;
  }

  /** Appends a signed 32-bit integer (`i32` field). */
  i(value: number): this {
    this.u32[this.next()] = value | 0;
    return this;
  }

  /** Appends a float (`f32` field). */
  f(value: number): this {
    SCRATCH_F32[0] = value;
    this.u32[this.next()] = SCRATCH_U32[0]!;
    return this;
  }

  /** The words written so far. */
  get words(): Uint32Array {
    return this.u32.subarray(0, this.length);
  }

  private next(): number {
    if (this.length >= this.u32.length) throw new RangeError(`uniform struct exceeds ${MAX_UNIFORM_BYTES} bytes`);
    return this.length++;
  }
}

/** Most workgroups along one dispatch dimension WebGPU guarantees. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Spreads `groups` workgroups over x and y so that neither exceeds 65535. Shaders recover the linear group index with
 * {@link WGSL_LINEAR_GROUP} and must ignore groups past the end (the grid may be slightly larger).
 */
export function linearGrid(groups: number): [number, number] {
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION);
  return [Math.ceil(groups / y), y];
}

/**
 * WGSL: `fn linear_group(group: vec3u, groups: vec3u) -> u32` — the index of a workgroup in a {@link linearGrid}
 * dispatch (pass `@builtin(workgroup_id)` and `@builtin(num_workgroups)`).
 */
export const WGSL_LINEAR_GROUP = /* wgsl */ `
fn linear_group(group: vec3u, groups: vec3u) -> u32 { return group.x + group.y * groups.x; }
`;
