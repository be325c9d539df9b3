import { StrataError } from '@strata/core';
import { type ByteSource, bytesSource } from '../byte-source/byte-source.js';
import { openGguf } from '../gguf/gguf-file.js';
import { openSafetensors } from '../safetensors/safetensors.js';
import type { FuzzSeed } from './seeds.js';
import type { FuzzTarget } from './fuzz-target.js';
import { mutate, mutateSafetensorsJson } from './mutate.js';

/** A source over `input` that counts the bytes read from it. */
function countingSource(input: Uint8Array): { source: ByteSource; read: () => number } {
  let bytesRead = 0;
  const inner = bytesSource(input, 'fuzz');
  return {
    source: {
      name: inner.name,
      byteLength: inner.byteLength,
      read: (offset, length) => {
        bytesRead += length;
        return inner.read(offset, length);
      },
    },
    read: () => bytesRead,
  };
}

/** Fails (with a plain Error, a finding) when a reader read more than twice its input. */
function checkBytesRead(bytesRead: number, input: Uint8Array): void {
  if (bytesRead > 2 * input.byteLength + 16) {
    throw new Error(`read ${bytesRead} bytes of a ${input.byteLength}-byte input`);
  }
}

/** The GGUF reader: mutated GGUF seeds (and, as donors, every seed), every tensor and metadata kind read. */
export function ggufTarget(seeds: readonly FuzzSeed[]): FuzzTarget<Uint8Array> {
  const own = seeds.filter((seed) => seed.format === 'gguf');
  const donors = seeds.map((seed) => seed.bytes);
  return {
    name: 'gguf',
    mutate: (random) => {
      const seed = random.pick(own);
      return mutate(seed.bytes, random, seed.headerBytes, donors);
    },
    exercise: async (input) => {
      const { source, read } = countingSource(input);
      const codes: string[] = [];
      try {
        const file = await openGguf(source);
        for (const name of file.tensors.tensors.keys()) await file.tensors.readBytes(name);
        for (const key of file.metadata.keys()) {
          for (const kind of ['string', 'u32', 'numberArray', 'stringArray'] as const) {
            try {
              file.metadata.find(key, kind);
            } catch (error) {
              if (!StrataError.isInstance(error)) throw error;
            }
          }
        }
      } catch (error) {
        if (!StrataError.isInstance(error)) throw error;
        codes.push(error.code);
      }
      checkBytesRead(read(), input);
      return codes;
    },
    serialize: (input) => input,
  };
}

/** The safetensors reader: JSON-aware and byte mutations of safetensors seeds, every tensor read. */
export function safetensorsTarget(seeds: readonly FuzzSeed[]): FuzzTarget<Uint8Array> {
  const own = seeds.filter((seed) => seed.format === 'safetensors');
  return {
    name: 'safetensors',
    mutate: (random) => {
      const seed = random.pick(own);
      return random.next() < 0.6
        ? mutateSafetensorsJson(seed.bytes, random)
        : mutate(seed.bytes, random, seed.headerBytes, []);
    },
    exercise: async (input) => {
      const { source, read } = countingSource(input);
      const codes: string[] = [];
      try {
        const file = await openSafetensors(source);
        for (const name of file.tensors.tensors.keys()) await file.tensors.readBytes(name);
      } catch (error) {
        if (!StrataError.isInstance(error)) throw error;
        codes.push(error.code);
      }
      checkBytesRead(read(), input);
      return codes;
    },
    serialize: (input) => input,
  };
}
