import { StrataError } from '@strata/core';
import type { EmbeddingPipeline } from '../embedding/embedding-pipeline.js';

/** An embedding model the API serves. */
export interface EmbeddingApiModel {
  /** The name requests use in `model`. */
  readonly name: string;
  /** The pipeline that computes its vectors. */
  readonly embeddings: EmbeddingPipeline;
}

/** OpenAI's `embeddings.create` request. */
export interface EmbeddingRequest {
  /** The embedding model's name. */
  readonly model: string;
  /** One text, several texts, one token-id array or several. */
  readonly input: string | readonly string[] | readonly number[] | readonly (readonly number[])[];
  /** `float` (default): number arrays; `base64`: little-endian f32 bytes in base64, as OpenAI sends them. */
  readonly encoding_format?: 'float' | 'base64';
  /** Output size; only the model's own size is accepted (these models are not trained to be truncated). */
  readonly dimensions?: number;
  /** End-user id (accepted, unused). */
  readonly user?: string;
}

/** One vector of an {@link EmbeddingResponse}. */
export interface EmbeddingData {
  /** Always `embedding`. */
  readonly object: 'embedding';
  /** Position of its input. */
  readonly index: number;
  /** The vector, or its base64 bytes. */
  readonly embedding: number[] | string;
}

/** OpenAI's `embeddings.create` response. */
export interface EmbeddingResponse {
  /** Always `list`. */
  readonly object: 'list';
  /** One vector per input, in input order. */
  readonly data: EmbeddingData[];
  /** The model's name. */
  readonly model: string;
  /** Tokens read (prompt and total are the same). */
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

const MAX_INPUTS = 2048;

function invalid(message: string, param: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { details: { param } });
}

/** The inputs of a request as texts or id sequences; throws `INVALID_ARGUMENT` naming the field. */
function inputsOf(input: unknown): { texts: string[] } | { ids: number[][] } {
  const isIds = (value: unknown): value is number[] =>
    Array.isArray(value) && value.length > 0 && value.every((id) => Number.isInteger(id) && id >= 0);
  if (typeof input === 'string') return { texts: [input] };
  if (isIds(input)) return { ids: [input] };
  if (Array.isArray(input) && input.length > 0 && input.length <= MAX_INPUTS) {
    if (input.every((text) => typeof text === 'string')) return { texts: input as string[] };
    if (input.every(isIds)) return { ids: input as number[][] };
  }
  throw invalid(
    `input must be a string, an array of at most ${MAX_INPUTS} strings, an array of token ids or an array of such arrays (none empty).`,
    'input',
  );
}

/** Little-endian f32 bytes of `vector` in base64, without Node's Buffer (browsers run this too). */
function base64Of(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  vector.forEach((value, index) => {
    view.setFloat32(index * 4, value, true);
  });
  let binary = '';
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

/**
 * Runs an `embeddings.create` request on `pipeline`: checks it (`INVALID_ARGUMENT` with `details.param`), embeds every
 * input in padded batches (texts longer than the model takes are an error, as OpenAI's are) and answers in OpenAI's shape.
 */
export async function createEmbeddings(
  pipeline: EmbeddingPipeline,
  request: EmbeddingRequest,
): Promise<EmbeddingResponse> {
  if (typeof request !== 'object' || request === null) throw invalid('The request body must be a JSON object.', 'body');
  const format = request.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw invalid(`encoding_format must be 'float' or 'base64', got ${JSON.stringify(format)}.`, 'encoding_format');
  }
  if (request.dimensions !== undefined && request.dimensions !== pipeline.dimensions) {
    throw invalid(
      `dimensions must be this model's size, ${pipeline.dimensions}; got ${JSON.stringify(request.dimensions)}.`,
      'dimensions',
    );
  }
  const inputs = inputsOf(request.input);
  const sequences = 'texts' in inputs ? inputs.texts.map((text) => pipeline.tokenize(text)) : inputs.ids;
  const vectors = await pipeline.embedIds(sequences);
  const tokens = sequences.reduce((sum, sequence) => sum + sequence.length, 0);
  return {
    object: 'list',
    data: vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: format === 'base64' ? base64Of(vector) : Array.from(vector),
    })),
    model: request.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
