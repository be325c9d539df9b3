/**
 * The WebGPU op-conformance suite (`src/webgpu-backend.conformance.test.ts`: every op against the CPU reference) run
 * without vitest, for the GPU machine, which has node and Dawn but no node_modules. Bundled into one file by
 * `packages/pipeline/bench/device/device.tsup.config.ts` (from bundle.sh as `.device-pack/conformance-run.mjs`), with
 * `vitest` aliased to the standalone runner of `@strata/backend-conformance/standalone` and `@vitest/expect` inlined.
 *
 * It lives here, beside `matvec-bench.ts`, because what it adds is WebGPU's: the backend, Dawn's flags and the
 * features to turn off; the runner it uses is generic and stays in tools/backend-conformance.
 *
 *   node .device-pack/conformance-run.mjs [-t REGEX] [--unsafe] [--dawn-flags 'a;b'] [--disable-features subgroups]
 *                                         [--f32-prefill] [--int8-tiling JSON] [--int8-batch N [--int8-gemm]]
 *                                         [--timeout SECONDS] [--list]
 *
 * `-t`/`--filter`: runs the tests whose full name (`backend conformance: webgpu > group > test`, as printed) matches
 * the regular expression. `--unsafe`: Dawn's `allow_unsafe_apis`. `--dawn-flags`: Dawn instance flags separated by
 * `;` (several `enable-dawn-features=` merge into one). `--disable-features`: optional features to leave off
 * (`subgroups`, `shader-f16`, `timestamp-query`, `chromium-experimental-subgroup-matrix`), to test the fallback kernels.
 * By default the backend runs as users get it, with `tuning.int8Prefill` (prefill products of Q8_0/Q4_K weights
 * through 8-bit activations; the backend then creates Dawn with `allow_unsafe_apis`, under which Dawn lists subgroup
 * matrices, so the subgroup-matrix kernel runs where the adapter has an i8 configuration, else the portable one) and
 * `INT8_ACTIVATION_TOLERANCE` for `prefillMatmul`; the adapter line says which kernel (`subgroupMatrix` in the
 * features). `--f32-prefill`: `tuning.int8Prefill` off and the f32 tolerance. `--int8-batch N`:
 * `tuning.int8BatchRows` (the 20-row batched products on 8-bit inputs from N ≤ 20, with the int8 tolerance);
 * `--int8-gemm`: those with Q4_K and Q8_0 weights on the int8 GEMM where subgroup matrices allow
 * (`tuning.int8BatchGemm`). `--int8-tiling`: `tuning.int8GemmTiling` as JSON (the subgroup-matrix GEMM's tiles).
 * `--timeout`: limit of each test and
 * hook (default 180 s, vitest.config.ts's). `--list`: prints the selected names and their count, runs nothing.
 * Prints one `PASS`/`FAIL` line per test and a summary; exits 0 when all pass, 1 on any failure, 2 on bad arguments or
 * when the filter selects nothing.
 */
import { parseArgs } from 'node:util';
import { describeBackendConformance, INT8_ACTIVATION_TOLERANCE } from '@strata/backend-conformance';
import { describeError, reportRun, standaloneRegistry } from '@strata/backend-conformance/standalone';
import { DEFAULT_WEBGPU_TUNING, type WebGpuTuning } from '../src/runtime/tuning.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/webgpu-backend.js';
import { withDawnFeatures } from '../src/device/dawn-flags.js';

type OptionalFeature = 'subgroups' | 'shader-f16' | 'timestamp-query' | 'chromium-experimental-subgroup-matrix';
const OPTIONAL_FEATURES: readonly OptionalFeature[] = [
  'subgroups',
  'shader-f16',
  'timestamp-query',
  'chromium-experimental-subgroup-matrix',
];

function usage(message: string): never {
  console.error(`conformance-run: ${message}`);
  process.exit(2);
}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        filter: { type: 'string', short: 't' },
        unsafe: { type: 'boolean', default: false },
        'dawn-flags': { type: 'string', default: '' },
        'disable-features': { type: 'string', default: '' },
        'f32-prefill': { type: 'boolean', default: false },
        'int8-tiling': { type: 'string', default: '' },
        'int8-batch': { type: 'string', default: String(DEFAULT_WEBGPU_TUNING.int8BatchRows) },
        'int8-gemm': { type: 'boolean', default: DEFAULT_WEBGPU_TUNING.int8BatchGemm },
        timeout: { type: 'string', default: '180' },
        list: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    return usage(describeError(error));
  }
}
const values = parseCommandLine();

let filter: RegExp | undefined;
try {
  filter = values.filter === undefined ? undefined : new RegExp(values.filter);
} catch (error) {
  usage(`--filter: ${describeError(error)}`);
}
const timeoutSeconds = Number(values.timeout);
if (!(timeoutSeconds > 0)) usage(`--timeout takes a positive number of seconds, not '${values.timeout}'`);
const disableFeatures = values['disable-features'].split(',').filter((name) => name !== '');
for (const name of disableFeatures) {
  if (!OPTIONAL_FEATURES.includes(name as OptionalFeature)) {
    usage(`--disable-features: '${name}' is none of ${OPTIONAL_FEATURES.join(', ')}`);
  }
}
const dawnFlags = withDawnFeatures(
  values['dawn-flags'].split(';').filter((flag) => flag !== ''),
  ...(values.unsafe ? ['allow_unsafe_apis'] : []),
);
const int8Prefill = !values['f32-prefill'];
let int8Tiling: Partial<WebGpuTuning> = {};
try {
  int8Tiling =
    values['int8-tiling'] === ''
      ? {}
      : { int8GemmTiling: JSON.parse(values['int8-tiling']) as WebGpuTuning['int8GemmTiling'] };
} catch (error) {
  usage(`--int8-tiling takes the tiling as JSON: ${describeError(error)}`);
}

const int8BatchRows = Number(values['int8-batch']);
if (!Number.isInteger(int8BatchRows) || int8BatchRows < 0 || int8BatchRows > 32) {
  usage(`--int8-batch takes an integer from 0 to 32, not '${values['int8-batch']}'`);
}

describeBackendConformance(
  'webgpu',
  async () => {
    const backend = await createWebGpuBackend({
      powerPreference: 'high-performance',
      dawnFlags,
      disableFeatures: disableFeatures as OptionalFeature[],
      tuning: { int8Prefill, int8BatchRows, int8BatchGemm: values['int8-gemm'], ...int8Tiling },
    });
    const info = backend.device.adapterInfo;
    const adapter = { vendor: info?.vendor, architecture: info?.architecture, device: info?.device };
    console.log(
      `WebGPU adapter ${JSON.stringify(adapter)} ${info?.description ?? ''}; features ${JSON.stringify(backend.features)}; ` +
        `Dawn flags ${JSON.stringify(dawnFlags)}`,
    );
    if (int8Prefill) {
      const matrix = backend.features.subgroupMatrix;
      console.log(
        `int8 prefill: ${matrix === undefined ? 'portable dot4I8Packed kernel' : `subgroup-matrix kernel ${JSON.stringify(matrix)} ${JSON.stringify(backend.runtime.tuning.int8GemmTiling ?? 'default tiling')}`}`,
      );
    }
    return backend;
  },
  {
    release: (backend) => (backend as WebGpuBackend).destroy(),
    tolerances: {
      ...(int8Prefill ? { prefillMatmul: INT8_ACTIVATION_TOLERANCE } : {}),
      // tuning.int8BatchRows up to 20 takes the 20-row batched-product cases to 8-bit inputs (the int8 GEMM for Q4_K
      // and Q8_0 weights where the device has subgroup matrices).
      ...(int8BatchRows > 0 && int8BatchRows <= 20 ? { batchedMatmul: INT8_ACTIVATION_TOLERANCE } : {}),
    },
  },
);

// An error no test awaited (a rejected promise of a timed-out test, say) fails the run, as it does under vitest.
let unhandled = 0;
const onUnhandled = (error: unknown): void => {
  unhandled++;
  console.log(`ERROR unhandled: ${describeError(error)}`);
};
process.on('unhandledRejection', onUnhandled);
process.on('uncaughtException', onUnhandled);

const code = await reportRun(standaloneRegistry, {
  ...(filter === undefined ? {} : { filter }),
  timeoutMilliseconds: timeoutSeconds * 1000,
  list: values.list,
});
if (unhandled > 0) console.log(`${unhandled} unhandled errors`);
// Dawn may keep handles open after the backend is destroyed: exit explicitly.
process.exit(code !== 0 ? code : unhandled > 0 ? 1 : 0);
