/**
 * Load generator for `strata serve`: starts a server in a child process on a loopback port (or uses `--url`), measures
 * each prompt alone first (greedy), then runs N concurrent streaming clients for a bounded time and prints requests
 * done, lost (errors or streams without a finish), mixed outputs (a streamed text that differs from the same prompt
 * alone), time to first token and inter-token latency p50/p99, the time of a whole request (p50) and from its last
 * token to the end of its stream (p50/p99), and aggregate generated tokens per second.
 *
 *   pnpm bench:serve [MODEL] [--clients 8] [--seconds 60] [--max-tokens 32] [--parallel N] [--ctx 256] [--url URL]
 *     [--cli strata-cli.mjs]   (a bundled CLI to start instead of the sources, e.g. on the GPU machine)
 *     [--profile DIR]          (the server process writes a V8 CPU profile into DIR when it shuts down)
 *     [--int8-batch N]         (the server's --int8-batch: steps of N or more sequences on 8-bit Q4_K products)
 *     [--int8-gemm]            (the server's --int8-gemm: those products with Q4_K/Q8_0 weights on the int8 GEMM)
 *     [--eager-decode]         (the server's --eager-decode: every decode step recorded again, no captured steps)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '60' },
    'max-tokens': { type: 'string', default: '32' },
    parallel: { type: 'string' },
    ctx: { type: 'string', default: '256' },
    backend: { type: 'string', default: 'cpu' },
    url: { type: 'string' },
    cli: { type: 'string' },
    profile: { type: 'string' },
    'int8-batch': { type: 'string' },
    'int8-gemm': { type: 'boolean' },
    'eager-decode': { type: 'boolean' },
  },
});
const root = fileURLToPath(new URL('../../../', import.meta.url));
const model = positionals[0] ?? `${root}../shared/fixtures/models/llama/model-f32.gguf`;
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const maxTokens = Number(values['max-tokens']);

async function startChild(): Promise<{ url: string; child: ChildProcess }> {
  // The CLI runs in a node process of its own (no package-manager wrapper), so SIGINT reaches it directly.
  const args = ['--model', `bench=${model}`, '--port', '0', '--backend', values.backend!, '--ctx', values.ctx!];
  args.push('--parallel', values.parallel ?? String(clients));
  if (values['int8-batch'] !== undefined) args.push('--int8-batch', values['int8-batch']);
  if (values['int8-gemm'] === true) args.push('--int8-gemm');
  if (values['eager-decode'] === true) args.push('--eager-decode');
  const profile = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  const entry =
    values.cli === undefined
      ? [...profile, '--import', 'tsx', '--conditions=@strata/source', 'apps/cli/src/main.ts']
      : [...profile, values.cli];
  const child = spawn(
    process.execPath,
    [...entry, 'serve', ...args],
    // The child resolves its own tsconfig (tsx passes this one's down through the environment, relative to here).
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TSX_TSCONFIG_PATH: undefined } },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (data: Buffer) => {
      text += data.toString();
      const match = /on (http:\/\/\S+) /.exec(text);
      if (match !== null) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the server exited with code ${code}`)));
  });
  return { url, child };
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const { url, child } = values.url === undefined ? await startChild() : { url: values.url, child: undefined };
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 600_000 });
const modelName = (await client.models.list()).data[0]!.id;
const prompts = Array.from({ length: 16 }, (_, index) => `Story ${index}: the llama number ${index * 7} walked`);

// Each prompt alone, one request at a time: the reference every concurrent output must equal.
const reference = new Map<string, string>();
for (const prompt of prompts) {
  const reply = await client.completions.create({ model: modelName, prompt, temperature: 0, max_tokens: maxTokens });
  reference.set(prompt, reply.choices[0]!.text);
}

let done = 0;
let lost = 0;
let mixed = 0;
let tokens = 0;
const firstTokenMs: number[] = [];
const interTokenMs: number[] = [];
const requestMs: number[] = [];
/** Inter-token times by the token's index in its request (1 = the second token). */
const interTokenByIndex: number[][] = [];
const afterLastTokenMs: number[] = [];
const started = performance.now();
const deadline = started + seconds * 1000;

async function runClient(index: number): Promise<void> {
  for (let round = 0; performance.now() < deadline; round++) {
    const prompt = prompts[(index * 5 + round) % prompts.length]!;
    const sent = performance.now();
    let last = sent;
    let text = '';
    let chunks = 0;
    let finished = false;
    try {
      const stream = await client.completions.create({
        model: modelName,
        prompt,
        temperature: 0,
        max_tokens: maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        // A chunk per token: timed even when the token decodes to no text yet (a control token, part of a character).
        if (choice !== undefined && (choice.text.length > 0 || !choice.finish_reason)) {
          const now = performance.now();
          if (chunks === 0) firstTokenMs.push(now - sent);
          else {
            interTokenMs.push(now - last);
            const atIndex = interTokenByIndex[chunks] ?? [];
            atIndex.push(now - last);
            interTokenByIndex[chunks] = atIndex;
          }
          chunks++;
          last = now;
          text += choice.text;
        }
        if (choice?.finish_reason) finished = true;
        if (chunk.usage) tokens += chunk.usage.completion_tokens;
      }
    } catch (error) {
      process.stderr.write(`client ${index}: ${(error as Error).message}\n`);
    }
    if (!finished) lost++;
    else {
      const ended = performance.now();
      requestMs.push(ended - sent);
      afterLastTokenMs.push(ended - last);
      done++;
      if (text !== reference.get(prompt)) mixed++;
    }
  }
}

await Promise.all(Array.from({ length: clients }, (_, index) => runClient(index)));
const elapsed = (performance.now() - started) / 1000;
const format = (value: number) => value.toFixed(1);
console.log(
  `strata serve load: ${clients} streaming clients for ${format(elapsed)} s, max_tokens ${maxTokens}, model ${model}`,
);
console.log(`requests done ${done} · lost ${lost} · mixed outputs ${mixed}`);
console.log(`TTFT p50 ${format(percentile(firstTokenMs, 0.5))} ms · p99 ${format(percentile(firstTokenMs, 0.99))} ms`);
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
console.log(
  `inter-token p50 ${format(percentile(interTokenMs, 0.5))} ms · p90 ${format(percentile(interTokenMs, 0.9))} ms · p99 ${format(percentile(interTokenMs, 0.99))} ms · mean ${format(mean(interTokenMs))} ms`,
);
// The token indices whose mean inter-token time is furthest above the whole mean (a stall at a fixed place).
const slowest = interTokenByIndex
  .map((values, index) => ({ index, mean: values === undefined ? 0 : mean(values) }))
  .filter(({ mean: value }) => value > 0)
  .sort((a, b) => b.mean - a.mean)
  .slice(0, 5);
console.log(
  `slowest token indices (mean ms): ${slowest.map(({ index, mean: value }) => `${index}: ${format(value)}`).join(', ')}`,
);
console.log(
  `request p50 ${format(percentile(requestMs, 0.5))} ms · after the last token p50 ${format(percentile(afterLastTokenMs, 0.5))} ms · p99 ${format(percentile(afterLastTokenMs, 0.99))} ms`,
);
console.log(`aggregate ${format(tokens / elapsed)} generated tokens/s (${tokens} tokens)`);
if (child !== undefined) {
  child.kill('SIGINT');
  await new Promise((resolve) => child.once('exit', resolve));
}
process.exitCode = lost > 0 || mixed > 0 ? 1 : 0;
