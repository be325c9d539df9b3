import type { NameOverrides, NameTable, TensorNaming } from './tensor-naming.js';
import { overrideNames } from './tensor-naming.js';

/** llama.cpp's tensor names (gguf-py `TENSOR_NAMES`), shared by every architecture. */
export const GGUF_NAMES: NameTable = Object.freeze({
  model: { tokenEmbedding: 'token_embd', outputNorm: 'output_norm', output: 'output', ropeFrequencies: 'rope_freqs' },
  layer: {
    attentionNorm: 'blk.{layer}.attn_norm',
    query: 'blk.{layer}.attn_q',
    key: 'blk.{layer}.attn_k',
    value: 'blk.{layer}.attn_v',
    queryKeyValue: 'blk.{layer}.attn_qkv',
    attentionOutput: 'blk.{layer}.attn_output',
    queryNorm: 'blk.{layer}.attn_q_norm',
    keyNorm: 'blk.{layer}.attn_k_norm',
    postAttentionNorm: 'blk.{layer}.post_attention_norm',
    feedForwardNorm: 'blk.{layer}.ffn_norm',
    postFeedForwardNorm: 'blk.{layer}.post_ffw_norm',
    gate: 'blk.{layer}.ffn_gate',
    up: 'blk.{layer}.ffn_up',
    down: 'blk.{layer}.ffn_down',
    router: 'blk.{layer}.ffn_gate_inp',
    expertGate: 'blk.{layer}.ffn_gate_exps',
    expertUp: 'blk.{layer}.ffn_up_exps',
    expertDown: 'blk.{layer}.ffn_down_exps',
  },
});

/**
 * Architectures llama.cpp runs with "normal" (adjacent-pair) RoPE: their converter permuted the Q/K rows of the
 * Hugging Face weights, so adjacent pairing on the file reproduces half-split pairing on the original.
 * Every other architecture keeps the original layout and uses half-split (NeoX) pairing.
 */
const ADJACENT_ROPE_ARCHITECTURES: ReadonlySet<string> = new Set([
  'llama',
  'llama4',
  'deci',
  'baichuan',
  'internlm2',
  'minicpm',
  'xverse',
  'command-r',
  'cohere2',
  'olmo',
  'arctic',
  'deepseek',
  'deepseek2',
  'granite',
  'granitemoe',
  'chameleon',
  'plm',
  'bailingmoe',
]);

/** The naming of a GGUF file of `architecture` (`general.architecture`), with a family's overrides. */
export function ggufNaming(architecture: string, overrides?: NameOverrides): TensorNaming {
  return Object.freeze({
    format: 'gguf',
    names: overrideNames(GGUF_NAMES, overrides),
    expertLayout: 'stacked',
    ropePairing: ADJACENT_ROPE_ARCHITECTURES.has(architecture) ? 'adjacent' : 'half-split',
    normsIncludeOffset: true,
  });
}
