import { StrataError, type WeightTensor } from '@strata/core';
import { LayerNorm, Linear, type Norm, RmsNorm } from '@strata/primitives';
import type { TransformerConfig } from '../config/transformer-config.js';
import {
  type LayerTensorRole,
  layerTensorName,
  type ModelTensorRole,
  modelTensorName,
  type TensorNaming,
} from '../naming/tensor-naming.js';
import type { WeightSource } from '../weights/weight-source.js';

/**
 * Loads the tensors of one model by role: the bridge between a family's layer definition and a file's names.
 * Format quirks (norm offsets, biases present or not, per-expert tensors) are resolved here.
 */
export class RoleWeights {
  /** The config. */
  readonly config: TransformerConfig;
  /** The files' weights. */
  readonly weights: WeightSource;
  /** The files' naming. */
  readonly naming: TensorNaming;

  constructor(config: TransformerConfig, weights: WeightSource, naming: TensorNaming) {
    this.config = config;
    this.weights = weights;
    this.naming = naming;
  }

  /** The full tensor name of a layer role (`.weight` or `.bias`), undefined when the format has no such role. */
  layerName(
    role: LayerTensorRole,
    layer: number,
    suffix: 'weight' | 'bias' = 'weight',
    expert?: number,
  ): string | undefined {
    const base = layerTensorName(this.naming, role, layer, expert);
    return base === undefined ? undefined : `${base}.${suffix}`;
  }

  /** The full tensor name of a model role, undefined when the format has none. */
  modelName(role: ModelTensorRole, suffix: 'weight' | 'bias' = 'weight'): string | undefined {
    const base = modelTensorName(this.naming, role);
    return base === undefined ? undefined : `${base}.${suffix}`;
  }

  /** True when the files hold this layer tensor (the first expert's, for per-expert roles). */
  hasLayer(role: LayerTensorRole, layer: number, suffix: 'weight' | 'bias' = 'weight'): boolean {
    const expert = this.naming.expertLayout === 'per-expert' && role.startsWith('expert') ? 0 : undefined;
    const name = this.layerName(role, layer, suffix, expert);
    return name !== undefined && this.weights.has(name);
  }

  /** True when the files hold this model tensor. */
  hasModel(role: ModelTensorRole): boolean {
    const name = this.modelName(role);
    return name !== undefined && this.weights.has(name);
  }

  #require(name: string | undefined, role: string): string {
    if (name === undefined) {
      throw new StrataError('TENSOR_NOT_FOUND', `The ${this.naming.format} naming has no tensor for role '${role}'.`, {
        details: { role },
      });
    }
    return name;
  }

  /** A layer projection `[outputs, inputs]` with its bias when the file has one. */
  async linear(role: LayerTensorRole, layer: number, outputs: number, inputs: number): Promise<Linear> {
    const weight = await this.weights.tensor(this.#require(this.layerName(role, layer), role), [outputs, inputs]);
    const biasName = this.layerName(role, layer, 'bias');
    const bias =
      biasName !== undefined && this.weights.has(biasName) ? await this.weights.vector(biasName, outputs) : undefined;
    return new Linear(weight, bias);
  }

  /**
   * Projections of one layer that read the same input (q, k, v; gate, up), as few weights as the file allows:
   * consecutive roles whose weights share a type, and whose biases are all absent or all present with one type, are
   * uploaded as one weight of their rows concatenated (one mat-vec computes them together). Returns the groups in role
   * order, each with the number of roles it holds; `SHAPE_MISMATCH` when a tensor's shape is not the config's.
   */
  async linearGroups(
    roles: readonly { readonly role: LayerTensorRole; readonly outputs: number }[],
    layer: number,
    inputs: number,
  ): Promise<{ readonly linear: Linear; readonly roles: number }[]> {
    const described = roles.map(({ role, outputs }) => {
      const name = this.#require(this.layerName(role, layer), role);
      const entry = this.weights.entry(name);
      if (entry.shape.length !== 2 || entry.shape[0] !== outputs || entry.shape[1] !== inputs) {
        // The single-tensor path reports the mismatch with the file's and the config's shapes.
        return { role, outputs, name, key: `shape:${role}` };
      }
      const biasName = this.layerName(role, layer, 'bias');
      const bias = biasName !== undefined && this.weights.has(biasName) ? biasName : undefined;
      const biasType = bias === undefined ? 'none' : this.weights.entry(bias).sourceType;
      return { role, outputs, name, bias, key: `${entry.sourceType}|${biasType}` };
    });
    const groups: (typeof described)[] = [];
    for (const item of described) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[0]!.key === item.key && !item.key.startsWith('shape:')) last.push(item);
      else groups.push([item]);
    }
    const result: { linear: Linear; roles: number }[] = [];
    for (const group of groups) {
      if (group.length === 1) {
        const { role, outputs } = group[0]!;
        result.push({ linear: await this.linear(role, layer, outputs, inputs), roles: 1 });
        continue;
      }
      const weight = await this.weights.concatenateRows(group.map((item) => item.name));
      const biases = group.map((item) => item.bias);
      const bias = biases.every((name) => name !== undefined)
        ? await this.weights.concatenateRows(biases as string[])
        : undefined;
      result.push({ linear: new Linear(weight, bias), roles: group.length });
    }
    return result;
  }

  /** A norm of `width` (the structure's kind; LayerNorm bias when present), the family's weight offset folded in. */
  async norm(role: LayerTensorRole, layer: number, width: number): Promise<Norm> {
    return this.#norm(this.#require(this.layerName(role, layer), role), this.layerName(role, layer, 'bias'), width);
  }

  /** A model-level norm (the final norm). */
  async modelNorm(role: ModelTensorRole, width: number): Promise<Norm> {
    return this.#norm(this.#require(this.modelName(role), role), this.modelName(role, 'bias'), width);
  }

  async #norm(weightName: string, biasName: string | undefined, width: number): Promise<Norm> {
    const offset = this.naming.normsIncludeOffset ? 0 : this.config.structure.normWeightOffset;
    const weight = await this.weights.vector(weightName, width, { add: offset });
    if (this.config.structure.norm === 'rms') return new RmsNorm(weight, this.config.normEpsilon);
    const bias =
      biasName !== undefined && this.weights.has(biasName) ? await this.weights.vector(biasName, width) : undefined;
    return new LayerNorm(weight, bias, this.config.normEpsilon);
  }

  /** An expert stack `[experts, rows, columns]`, from one stacked tensor or one tensor per expert. */
  async experts(
    role: 'expertGate' | 'expertUp' | 'expertDown',
    layer: number,
    rows: number,
    columns: number,
  ): Promise<WeightTensor> {
    const count = this.config.experts?.count ?? 0;
    if (this.naming.expertLayout === 'stacked') {
      return this.weights.tensor(this.#require(this.layerName(role, layer), role), [count, rows, columns]);
    }
    const names = Array.from({ length: count }, (_, expert) =>
      this.#require(this.layerName(role, layer, 'weight', expert), role),
    );
    return this.weights.stack(names, [rows, columns]);
  }
}
