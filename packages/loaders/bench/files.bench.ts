/**
 * Model-file throughput: GGUF header parsing of the vocabulary fixtures (CPU time), then a Llama-8B-shaped Q4_K GGUF
 * written through the streaming writer and read back through `TensorStore.streamBytes`, with peak memory.
 * Run with `pnpm bench` in packages/loaders (`--gigabytes N` scales the synthetic file; default 1, 0 skips it).
 * Not a test: it asserts only that the bytes read back are the bytes written.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesSource, type GgufWriteTensor, ggufValue, openGguf } from '../src/index.js';
import { openGgufFile, writeGgufFile } from '../src/node.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));
const gigabytesOption = process.argv.indexOf('--gigabytes');
const gigabytes = gigabytesOption >= 0 ? Number(process.argv[gigabytesOption + 1]) : 1;

console.log('GGUF header parsing (best of 8, CPU time):');
for (const name of readdirSync(join(fixtures, 'vocab')).filter((file) => file.endsWith('.gguf'))) {
  const bytes = new Uint8Array(readFileSync(join(fixtures, 'vocab', name)));
  let best = Number.POSITIVE_INFINITY;
  let tokens = 0;
  for (let round = 0; round < 8; round++) {
    const before = process.cpuUsage();
    const file = await openGguf(bytesSource(bytes));
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
    tokens = file.metadata.getStringArray('tokenizer.ggml.tokens').length;
  }
  console.log(
    `  ${name.padEnd(28)} ${(bytes.byteLength / 1e6).toFixed(1)} MB, ${tokens} tokens: ${best.toFixed(1)} ms`,
  );
}

if (gigabytes > 0) {
  // Llama-3-8B shapes in Q4_K (144 bytes per 256 values); the layer count scales the file to the requested size.
  const hidden = 4096;
  const feedForward = 14336;
  const keyValue = 1024;
  const vocabulary = 128256;
  const q4k = (rows: number, columns: number) => (rows * columns * 144) / 256;
  const layerBytes = q4k(hidden, hidden) * 2 + q4k(keyValue, hidden) * 2 + q4k(feedForward, hidden) * 3 + hidden * 8;
  const layers = Math.max(1, Math.round((gigabytes * 1e9 - 2 * q4k(vocabulary, hidden)) / layerBytes));
  const chunk = new Uint8Array(16 * 1024 * 1024);
  for (let index = 0; index < chunk.length; index++) chunk[index] = (index * 2654435761) >>> 24;
  /** Tensor data made of repeated `chunk`s: nothing the size of a tensor is ever allocated. */
  const data = (bytes: number) =>
    async function* () {
      for (let done = 0; done < bytes; done += chunk.byteLength)
        yield chunk.subarray(0, Math.min(chunk.byteLength, bytes - done));
    };
  const matrix = (name: string, rows: number, columns: number): GgufWriteTensor => ({
    name,
    type: 'Q4_K',
    shape: [rows, columns],
    data: data(q4k(rows, columns)),
  });
  const vector = (name: string): GgufWriteTensor => ({ name, type: 'F32', shape: [hidden], data: data(hidden * 4) });
  const tensors: GgufWriteTensor[] = [matrix('token_embd.weight', vocabulary, hidden)];
  for (let layer = 0; layer < layers; layer++) {
    tensors.push(
      vector(`blk.${layer}.attn_norm.weight`),
      matrix(`blk.${layer}.attn_q.weight`, hidden, hidden),
      matrix(`blk.${layer}.attn_k.weight`, keyValue, hidden),
      matrix(`blk.${layer}.attn_v.weight`, keyValue, hidden),
      matrix(`blk.${layer}.attn_output.weight`, hidden, hidden),
      vector(`blk.${layer}.ffn_norm.weight`),
      matrix(`blk.${layer}.ffn_gate.weight`, feedForward, hidden),
      matrix(`blk.${layer}.ffn_up.weight`, feedForward, hidden),
      matrix(`blk.${layer}.ffn_down.weight`, hidden, feedForward),
    );
  }
  tensors.push(vector('output_norm.weight'), matrix('output.weight', vocabulary, hidden));
  const path = join(tmpdir(), `strata-bench-${process.pid}.gguf`);
  let peak = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const writeStart = performance.now();
    const written = await writeGgufFile(path, {
      metadata: { 'general.architecture': ggufValue.string('llama'), 'llama.block_count': ggufValue.u32(layers) },
      tensors,
    });
    const writeSeconds = (performance.now() - writeStart) / 1000;
    const readStart = performance.now();
    const file = await openGgufFile(path);
    let read = 0;
    for (const name of file.tensors.tensors.keys()) {
      for await (const piece of file.tensors.streamBytes(name)) {
        if (piece[0] !== chunk[0] || piece[piece.byteLength - 1] !== chunk[(piece.byteLength - 1) % chunk.byteLength])
          throw new Error(`bytes of ${name} differ`);
        read += piece.byteLength;
      }
    }
    const readSeconds = (performance.now() - readStart) / 1000;
    console.log(
      `Streaming a ${(written / 1e9).toFixed(2)} GB Llama-8B-shaped Q4_K GGUF (${layers} layers, ${tensors.length} tensors):`,
    );
    console.log(
      `  write ${(written / 1e6 / writeSeconds).toFixed(0)} MB/s, read back in 64 MiB chunks ${(read / 1e6 / readSeconds).toFixed(0)} MB/s, peak RSS ${(peak / 1e6).toFixed(0)} MB`,
    );
  } finally {
    clearInterval(sample);
    rmSync(path, { force: true });
  }
}
