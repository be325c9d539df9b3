import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type Backend, StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import type { CommandOutput } from '../command.js';

/** The backends `--backend` accepts. */
export const BACKEND_NAMES = ['cpu', 'webgpu'] as const;

/** What a WebGPU adapter says of itself (the fields of `GPUAdapterInfo` strata reads). */
export interface AdapterDescription {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** A backend, a name for it in stats lines, and the function that releases it (WebGPU: the device, so Node can exit). */
export interface ChosenBackend {
  readonly backend: Backend;
  /** `cpu`, or `webgpu` with the adapter's name (`webgpu: NVIDIA GeForce RTX 4090`). */
  readonly label: string;
  readonly release: () => void;
}

const SOFTWARE_RENDERERS = /llvmpipe|lavapipe|swiftshader|softpipe|warp|basic render driver/i;

/**
 * Whether an adapter is a CPU implementation of WebGPU (lavapipe/llvmpipe, SwiftShader, WARP): the fallback flag, a
 * `software`/`cpu` architecture, or a known software renderer's name. On such an adapter the CPU backend is faster.
 */
export function isSoftwareAdapter(info: AdapterDescription): boolean {
  if (info.isFallbackAdapter === true) return true;
  if (/^(software|cpu)$/i.test(info.architecture ?? '')) return true;
  return SOFTWARE_RENDERERS.test(`${info.device ?? ''} ${info.description ?? ''} ${info.vendor ?? ''}`);
}

/** A short human name of an adapter: its description, else vendor and device. */
export function adapterName(info: AdapterDescription): string {
  const described = info.description?.trim();
  if (described !== undefined && described.length > 0) return described;
  return [info.vendor, info.device].filter((part) => part !== undefined && part.length > 0).join(' ') || 'unknown';
}

// Runs in a child process: Dawn prints its limit warnings to the native stderr, which Node cannot filter in-process.
const PROBE = `
const { create } = await import(process.argv[1]);
const adapter = await create([]).requestAdapter();
const info = adapter?.info ?? null;
process.stdout.write(JSON.stringify(info && { vendor: info.vendor, architecture: info.architecture, device: info.device,
  description: info.description, isFallbackAdapter: info.isFallbackAdapter }));
process.exit(0);
`;

/**
 * Asks Dawn for the default adapter in a child process (so that its native warnings stay out of the terminal): the
 * adapter's description, or undefined when there is none or the `webgpu` package cannot load.
 */
export async function probeWebGpuAdapter(): Promise<AdapterDescription | undefined> {
  let entry: string;
  try {
    entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, entry],
      { timeout: 30_000, encoding: 'utf8' },
      (error, stdout) => {
        if (error !== null) return resolve(undefined);
        try {
          resolve((JSON.parse(stdout) as AdapterDescription | null) ?? undefined);
        } catch {
          resolve(undefined);
        }
      },
    );
  });
}

/** `--backend`: undefined (choose), `cpu` or `webgpu`; anything else is `INVALID_ARGUMENT` naming the choices. */
export function checkBackendName(name: unknown): 'cpu' | 'webgpu' | undefined {
  if (name === undefined || name === 'cpu' || name === 'webgpu') return name;
  throw new StrataError('INVALID_ARGUMENT', `--backend ${String(name)}: choose ${BACKEND_NAMES.join(' or ')}.`);
}

function cpu(): ChosenBackend {
  return { backend: createCpuBackend(), label: 'cpu', release: () => {} };
}

/** What a command asks of the WebGPU backend beyond its defaults. */
export interface BackendWishes {
  /**
   * `tuning.int8Prefill` of `@strata/kernels-webgpu` (8-bit activations for prefill products of Q8_0/Q4_K weights);
   * the backend's default (on) when absent.
   */
  readonly int8Prefill?: boolean;
  /**
   * `tuning.int8BatchRows` of `@strata/kernels-webgpu` (batched decode products of Q4_K weights with 8-bit activations
   * from this many rows); the backend's default (off) when absent.
   */
  readonly int8BatchRows?: number;
  /**
   * `tuning.int8BatchGemm` (those products with Q4_K/Q8_0 weights on the int8 GEMM where the adapter has subgroup
   * matrices); the backend's default (off) when absent.
   */
  readonly int8BatchGemm?: boolean;
}

/**
 * `--backend cpu|webgpu`, or, when not given: WebGPU on a hardware adapter, the CPU backend when the only adapter is a
 * software one (saying so in one line) or when there is none. `wishes` tune the WebGPU backend.
 */
export async function chooseBackend(
  name: unknown,
  output: CommandOutput,
  wishes: BackendWishes = {},
): Promise<ChosenBackend> {
  const chosen = checkBackendName(name);
  if (chosen === 'cpu') return cpu();
  if (chosen === undefined) {
    const probed = await probeWebGpuAdapter();
    if (probed === undefined) {
      output.error('strata: no WebGPU adapter; using the CPU backend.\n');
      return cpu();
    }
    if (isSoftwareAdapter(probed)) {
      output.error(
        `strata: the only WebGPU adapter is a software one (${adapterName(probed)}); using the CPU backend, which is faster here (--backend webgpu to use it anyway).\n`,
      );
      return cpu();
    }
  }
  try {
    const { createWebGpuBackend } = await import('@strata/kernels-webgpu');
    const tuning = {
      ...(wishes.int8Prefill === undefined ? {} : { int8Prefill: wishes.int8Prefill }),
      ...(wishes.int8BatchRows === undefined ? {} : { int8BatchRows: wishes.int8BatchRows }),
      ...(wishes.int8BatchGemm === undefined ? {} : { int8BatchGemm: wishes.int8BatchGemm }),
    };
    const backend = await createWebGpuBackend({ tuning });
    const info = (backend.device as GPUDevice & { adapterInfo?: AdapterDescription }).adapterInfo;
    const label = info === undefined ? 'webgpu' : `webgpu: ${adapterName(info)}`;
    return { backend, label, release: () => backend.destroy() };
  } catch (error) {
    if (chosen === 'webgpu' || !StrataError.isInstance(error, 'NO_ADAPTER')) throw error;
    output.error(`strata: no WebGPU adapter (${error.message}); using the CPU backend.\n`);
    return cpu();
  }
}
