/**
 * Tokenizer throughput: encodes 1 MB of deterministic mixed text (prose, code, numbers, non-Latin scripts, emoji)
 * with the GPT-2 and llama-spm GGUF vocabularies and two tokenizer.json files (GPT-2's 50k vocabulary rebuilt from the
 * GGUF fixture, and the fixture models' 384-token one), and prints tokens per second.
 * Run with `pnpm bench` in packages/loaders. Not a test: it asserts nothing but the round trip.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Tokenizer, tokenizerFromGguf, tokenizerFromJson } from '../src/index.js';
import { openGgufFile } from '../src/node.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));
const TARGET_BYTES = 1_000_000;

/** Mulberry32: a small deterministic generator, so every run encodes the same text. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the of and to in is was that for on with as by at from his her they have this which one had not but what all were when we there can an your more their said if do will each about how up out them then she many some so these would other into has two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know'.split(
    ' ',
  );
const CODE = [
  'function add(a, b) {\n  return a + b;\n}\n',
  'for (let i = 0; i < items.length; i++) {\n    total += items[i].price * 1.08;\n}\n',
  'def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n',
  'const { data, error } = await fetch("/api/v2/users/" + id + "?limit=50").then((r) => r.json());\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }\n',
  "SELECT name, COUNT(*) AS n FROM orders WHERE created_at >= '2024-01-01' GROUP BY name;\n",
  '\t\tif err != nil {\n\t\t\treturn nil, fmt.Errorf("open %s: %w", path, err)\n\t\t}\n',
];
const SCRIPTS = [
  'Съешь же ещё этих мягких французских булок, да выпей чаю.',
  '我们今天去公园散步，天气非常好，大家都很开心。',
  'الطقس جميل اليوم ونحن نذهب إلى الحديقة.',
  'आज मौसम बहुत अच्छा है और हम पार्क जा रहे हैं।',
  '今日はとても良い天気なので、公園に散歩に行きます。',
  '오늘은 날씨가 정말 좋아서 공원에 산책하러 갑니다.',
  'Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.',
  'Ça coûte 12,50 € — déjà payé à l’hôtel Müller in Zürich.',
];
const EMOJI = ['😀', '🦙', '🚀', '👩‍💻', '🏳️‍🌈', '👍🏽', '🎉🎉', '✅', '❤️', '🇫🇷'];

/** About `bytes` UTF-8 bytes of mixed text, the same on every run. */
function mixedText(bytes: number): string {
  const next = random(20261122);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T;
  const parts: string[] = [];
  let size = 0;
  const encoder = new TextEncoder();
  while (size < bytes) {
    const kind = next();
    let part: string;
    if (kind < 0.45) {
      const count = 20 + Math.floor(next() * 60);
      const words = Array.from({ length: count }, () => pick(WORDS));
      words[0] = (words[0] as string).replace(/^./, (c) => c.toUpperCase());
      part = `${words.join(' ')}. `;
      if (next() < 0.3) part += '\n\n';
    } else if (kind < 0.65) part = pick(CODE);
    else if (kind < 0.75) {
      part = `${Math.floor(next() * 1e6)} ${(next() * 1000).toFixed(3)} ${2000 + Math.floor(next() * 30)}-0${1 + Math.floor(next() * 9)}-1${Math.floor(next() * 9)} 3.14159e-${Math.floor(next() * 9)} `;
    } else if (kind < 0.92) part = `${pick(SCRIPTS)} `;
    else part = `${pick(EMOJI)}${pick(EMOJI)} `;
    parts.push(part);
    size += encoder.encode(part).length;
  }
  return parts.join('');
}

function measure(name: string, tokenizer: Tokenizer, text: string, loadMilliseconds: number): void {
  tokenizer.encode(text.slice(0, 20_000));
  const start = performance.now();
  const ids = tokenizer.encode(text);
  const seconds = (performance.now() - start) / 1000;
  const decodeStart = performance.now();
  const decoded = tokenizer.decode(ids);
  const decodeSeconds = (performance.now() - decodeStart) / 1000;
  const megabytes = new TextEncoder().encode(text).length / 1e6;
  console.log(
    `${name.padEnd(28)} load ${loadMilliseconds.toFixed(0).padStart(4)} ms  ${ids.length.toString().padStart(7)} tokens  ` +
      `encode ${(ids.length / seconds / 1000).toFixed(0).padStart(5)} k tokens/s (${(megabytes / seconds).toFixed(2)} MB/s)  ` +
      `decode ${(ids.length / decodeSeconds / 1e6).toFixed(2)} M tokens/s  round trip ${decoded === text ? 'exact' : 'DIFFERS'}`,
  );
}

async function main(): Promise<void> {
  const text = mixedText(TARGET_BYTES);
  console.log(
    `text: ${new TextEncoder().encode(text).length} UTF-8 bytes, ${text.length} UTF-16 units (node ${process.version})`,
  );
  for (const name of ['gpt-2', 'llama-spm']) {
    const start = performance.now();
    const file = await openGgufFile(`${fixtures}vocab/ggml-vocab-${name}.gguf`);
    const tokenizer = tokenizerFromGguf(file.metadata);
    measure(`GGUF ${name}`, tokenizer, text, performance.now() - start);
  }
  const gpt2 = (await openGgufFile(`${fixtures}vocab/ggml-vocab-gpt-2.gguf`)).metadata;
  const rebuildStart = performance.now();
  const rebuilt = tokenizerFromJson({
    version: '1.0',
    added_tokens: [
      { id: 50256, content: '<|endoftext|>', special: true, normalized: false, lstrip: false, rstrip: false },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      vocab: Object.fromEntries(gpt2.get('tokenizer.ggml.tokens', 'stringArray').map((token, id) => [token, id])),
      merges: [...gpt2.get('tokenizer.ggml.merges', 'stringArray')],
    },
  });
  measure('tokenizer.json (gpt-2, 50k)', rebuilt, text, performance.now() - rebuildStart);
  const folder = `${fixtures}models/qwen2/`;
  const start = performance.now();
  const tokenizer = tokenizerFromJson(
    JSON.parse(readFileSync(`${folder}tokenizer.json`, 'utf8')),
    JSON.parse(readFileSync(`${folder}tokenizer_config.json`, 'utf8')),
  );
  measure('tokenizer.json (qwen2, 384)', tokenizer, text, performance.now() - start);
}

await main();
