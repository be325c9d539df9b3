/**
 * Prints the side-by-side table of strata (`gpu-bench.ts --out`) and llama.cpp (`llama-bench -o json`) on the same
 * files, with the ratios. Used by `bench/device/final.sh`.
 *
 *   node peer-table.mjs llama.json strata.json [strata2.json …]
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface StrataRow {
  readonly model: string;
  readonly type: string;
  readonly loadSeconds?: number;
  readonly pp?: { readonly tokensPerSecond: { readonly mean: number } };
  readonly tg?: { readonly tokensPerSecond: { readonly mean: number } };
  readonly error?: string;
}

interface LlamaRow {
  readonly model_filename: string;
  readonly n_prompt: number;
  readonly n_gen: number;
  readonly avg_ts: number;
}

const [llamaPath, ...strataPaths] = process.argv.slice(2);
if (llamaPath === undefined || strataPaths.length === 0) {
  process.stderr.write('usage: peer-table.mjs llama.json strata.json [strata2.json …]\n');
  process.exit(2);
}
const strata = strataPaths
  .filter((path) => existsSync(path))
  .flatMap((path) => (JSON.parse(readFileSync(path, 'utf8')) as { results: StrataRow[] }).results);
const llama: LlamaRow[] = existsSync(llamaPath) ? (JSON.parse(readFileSync(llamaPath, 'utf8')) as LlamaRow[]) : [];

const peer = (model: string, type: string, test: 'pp' | 'tg'): number | undefined =>
  llama.find(
    (row) =>
      basename(row.model_filename) === `${model}-${type}.gguf` && (test === 'pp' ? row.n_prompt > 0 : row.n_gen > 0),
  )?.avg_ts;
const number = (value: number | undefined, digits = 0) => (value === undefined ? '—' : value.toFixed(digits));
const ratio = (ours: number | undefined, theirs: number | undefined) =>
  ours === undefined || theirs === undefined ? '—' : `${(ours / theirs).toFixed(2)}×`;

const lines = [
  '| model | type | strata pp512 | llama.cpp pp512 | ratio | strata tg128 | llama.cpp tg128 | ratio | strata load s |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const row of strata) {
  const pp = row.pp?.tokensPerSecond.mean;
  const tg = row.tg?.tokensPerSecond.mean;
  const peerPp = peer(row.model, row.type, 'pp');
  const peerTg = peer(row.model, row.type, 'tg');
  lines.push(
    `| ${row.model} | ${row.type} | ${number(pp)} | ${number(peerPp)} | ${ratio(pp, peerPp)} | ${number(tg)} | ${number(peerTg)} | ${ratio(tg, peerTg)} | ${number(row.loadSeconds, 1)} |${row.error === undefined ? '' : ` error: ${row.error}`}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
