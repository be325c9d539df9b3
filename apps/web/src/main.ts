/**
 * The page: pick a model, watch it load, then complete a prompt or chat with it. The model runs in a worker
 * (`worker.ts`) on WebGPU behind OpenAI's API; this file only wires the DOM of `index.html` to a {@link ModelClient}
 * (loading) and its `api` (`completions.create`; the chat uses `chat.completions.create`).
 */
import { isModelUrl, resolveModelUrl } from '@strata/loaders';
import { ChatPanel } from './chat-panel.js';
import { CompletePanel } from './complete-panel.js';
import { describeProgress, formatBytes } from './format.js';
import { acceptDroppedFiles, describeDownload, LAST_MODEL_KEY, renderCacheList } from './model-library.js';
import { rememberSettings } from './settings.js';
import { ModelClient, WorkerError } from './model-client.js';
import type { ModelInfo } from './protocol.js';
import type { RequestOptions } from './request-options.js';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found as T;
}

const ui = {
  gpuStatus: element<HTMLSpanElement>('gpu-status'),
  modelPanel: element<HTMLElement>('model-panel'),
  urlForm: element<HTMLFormElement>('url-form'),
  modelUrl: element<HTMLInputElement>('model-url'),
  loadUrl: element<HTMLButtonElement>('load-url'),
  urlError: element<HTMLParagraphElement>('url-error'),
  cachedModels: element<HTMLUListElement>('cached-models'),
  cacheTotal: element<HTMLSpanElement>('cache-total'),
  ggufInput: element<HTMLInputElement>('gguf-input'),
  folderInput: element<HTMLInputElement>('folder-input'),
  contextLength: element<HTMLInputElement>('context-length'),
  loadProgress: element<HTMLProgressElement>('load-progress'),
  loadStatus: element<HTMLParagraphElement>('load-status'),
  modelInfo: element<HTMLDListElement>('model-info'),
  generatePanel: element<HTMLElement>('generate-panel'),
  tabComplete: element<HTMLButtonElement>('tab-complete'),
  tabChat: element<HTMLButtonElement>('tab-chat'),
  completeView: element<HTMLDivElement>('complete-view'),
  chatView: element<HTMLDivElement>('chat-view'),
  prompt: element<HTMLTextAreaElement>('prompt'),
  promptIds: element<HTMLInputElement>('prompt-ids'),
  chatLog: element<HTMLOListElement>('chat-log'),
  chatInput: element<HTMLTextAreaElement>('chat-input'),
  systemPrompt: element<HTMLTextAreaElement>('system-prompt'),
  chatList: element<HTMLUListElement>('chat-list'),
  chatError: element<HTMLParagraphElement>('chat-error'),
  contextMeter: element<HTMLMeterElement>('context-meter'),
  contextText: element<HTMLSpanElement>('context-text'),
  maxTokens: element<HTMLInputElement>('max-tokens'),
  temperature: element<HTMLInputElement>('temperature'),
  topK: element<HTMLInputElement>('top-k'),
  topP: element<HTMLInputElement>('top-p'),
  seed: element<HTMLInputElement>('seed'),
  showProbabilities: element<HTMLInputElement>('show-probabilities'),
  generate: element<HTMLButtonElement>('generate'),
  stop: element<HTMLButtonElement>('stop'),
  newChat: element<HTMLButtonElement>('new-chat'),
  output: element<HTMLPreElement>('output'),
  stats: element<HTMLParagraphElement>('stats'),
  tokenIds: element<HTMLElement>('token-ids'),
  tokenList: element<HTMLOListElement>('token-list'),
  error: element<HTMLParagraphElement>('error'),
};

const client = new ModelClient();
const chat = new ChatPanel(
  {
    log: ui.chatLog,
    input: ui.chatInput,
    systemPrompt: ui.systemPrompt,
    chatList: ui.chatList,
    meter: ui.contextMeter,
    meterText: ui.contextText,
    error: ui.chatError,
    stats: ui.stats,
    tokenIds: ui.tokenIds,
  },
  client.api.chat.completions,
  {
    model: () => model?.name ?? '',
    requestOptions: () => requestOptions(),
    setBusy: (value) => {
      busy = value;
      refreshControls();
    },
  },
);
const completion = new CompletePanel(
  {
    prompt: ui.prompt,
    promptIds: ui.promptIds,
    showProbabilities: ui.showProbabilities,
    output: ui.output,
    stats: ui.stats,
    tokenIds: ui.tokenIds,
    tokenList: ui.tokenList,
  },
  client.api.completions,
  {
    model: () => model?.name ?? '',
    requestOptions: () => requestOptions(),
    setBusy: (value) => {
      busy = value;
      refreshControls();
    },
    showError: (error) => showError(error),
    clearError: () => clearError(),
  },
);
let model: ModelInfo | undefined;
let busy = false;
let mode: 'complete' | 'chat' = 'complete';

function showError(error: unknown): void {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  ui.error.textContent = typeof code === 'string' ? `${code}: ${message}` : message;
  ui.error.hidden = false;
}

function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

function refreshControls(): void {
  const ready = model !== undefined;
  ui.generatePanel.dataset.ready = String(ready);
  ui.generate.disabled = !ready || busy;
  ui.stop.disabled = !busy;
  ui.newChat.disabled = busy;
  ui.tabChat.disabled = busy || (ready && !model?.hasChatTemplate);
  ui.tabChat.title = ready && !model?.hasChatTemplate ? 'This model has no chat template.' : '';
  ui.ggufInput.disabled = busy;
  ui.folderInput.disabled = busy;
  ui.loadUrl.disabled = busy;
}

function showModelInfo(info: ModelInfo): void {
  const rows: [string, string][] = [
    ['model', info.name],
    ['architecture', `${info.architecture} (${info.format === 'gguf' ? 'GGUF' : 'Hugging Face safetensors'})`],
    ['weights', `${formatBytes(info.bytes)} in ${info.tensors} tensors`],
    ['context', `${info.contextLength} tokens (the model's limit: ${info.maxContextLength})`],
    [
      'from',
      info.from === 'cache'
        ? "this browser's storage (no download)"
        : info.from === 'disk'
          ? 'your disk'
          : info.from === 'uncached'
            ? 'the network (storage full: not kept)'
            : 'the network, kept in this browser',
    ],
    ['vocabulary', `${info.vocabularySize} tokens`],
    ['chat template', info.hasChatTemplate ? 'yes' : 'none (completion only)'],
    ['adapter', info.adapter],
  ];
  ui.modelInfo.replaceChildren(
    ...rows.flatMap(([term, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      return [dt, dd];
    }),
  );
  ui.modelInfo.hidden = false;
}

async function loadFiles(files: readonly File[]): Promise<void> {
  if (files.length === 0) return;
  await runLoad(undefined, (contextLength, onProgress, onWarmUp) =>
    client.load(files, contextLength, onProgress, onWarmUp),
  );
}

/** Shows an error next to the URL field (where a URL load's failures belong). */
function showUrlError(error: unknown): void {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  ui.urlError.textContent = typeof code === 'string' ? `${code}: ${message}` : message;
  ui.urlError.hidden = false;
}

async function refreshCacheList(): Promise<void> {
  const { entries, totalBytes } = await client.listCache();
  ui.cacheTotal.textContent = `(${formatBytes(totalBytes)})`;
  renderCacheList(ui.cachedModels, entries, {
    load: (url) => {
      ui.modelUrl.value = url;
      void loadUrl(url);
    },
    remove: async (url) => {
      try {
        await client.deleteCached(url);
        if (localStorage.getItem(LAST_MODEL_KEY) === url) localStorage.removeItem(LAST_MODEL_KEY);
        await refreshCacheList();
      } catch (error) {
        showUrlError(error);
      }
    },
  });
}

async function loadUrl(text: string): Promise<void> {
  ui.urlError.hidden = true;
  const url = text.trim();
  try {
    if (!isModelUrl(url)) resolveModelUrl(url); // throws INVALID_ARGUMENT with what to type
  } catch (error) {
    showUrlError(error);
    return;
  }
  let download = '';
  const loaded = await runLoad(url, (contextLength, onProgress, onWarmUp) =>
    client.loadUrl(url, contextLength, {
      onDownload: (progress) => {
        const { fraction, text: line } = describeDownload(progress);
        download = line;
        ui.loadProgress.value = fraction;
        ui.loadStatus.textContent = line;
      },
      onProgress: (progress) => {
        onProgress(progress);
        if (download !== '') ui.loadStatus.textContent += ` · ${download}`;
      },
      onWarmUp,
    }),
  );
  if (loaded) {
    localStorage.setItem(LAST_MODEL_KEY, url);
    // Ask the browser not to evict the downloaded model under storage pressure (it may say no; nothing breaks then).
    void navigator.storage?.persist?.().catch(() => false);
  }
  await refreshCacheList().catch(showUrlError);
}

async function runLoad(
  url: string | undefined,
  start: (
    contextLength: number,
    onProgress: (progress: Parameters<typeof describeProgress>[0]) => void,
    onWarmUp: () => void,
  ) => Promise<ModelInfo>,
): Promise<boolean> {
  clearError();
  const previous = model;
  model = undefined;
  busy = true;
  refreshControls();
  ui.modelInfo.hidden = true;
  ui.loadProgress.hidden = false;
  ui.loadProgress.value = 0;
  ui.loadStatus.textContent = 'Opening…';
  ui.loadStatus.dataset.state = 'loading';
  try {
    const contextLength = Math.max(16, Math.floor(Number(ui.contextLength.value) || 4096));
    const info = await start(
      contextLength,
      (progress) => {
        const { fraction, text } = describeProgress(progress);
        ui.loadProgress.value = fraction;
        ui.loadStatus.textContent = `Loading ${text}`;
      },
      () => {
        ui.loadProgress.value = 1;
        ui.loadStatus.textContent = 'Compiling the GPU kernels…';
      },
    );
    model = info;
    ui.loadProgress.value = 1;
    const ahead = info.kernelsCompiledAhead > 0 ? ` (${info.kernelsCompiledAhead} compiled ahead while loading)` : '';
    ui.loadStatus.textContent = `Loaded in ${(info.loadMs / 1000).toFixed(2)} s; kernels compiled in ${(info.warmUpMs / 1000).toFixed(2)} s${ahead}.`;
    ui.loadStatus.dataset.state = 'loaded';
    ui.loadStatus.dataset.from = info.from ?? '';
    ui.contextLength.max = String(info.maxContextLength);
    ui.contextLength.value = String(info.contextLength);
    showModelInfo(info);
    chat.setContextLength(info.contextLength);
    return true;
  } catch (error) {
    if (url === undefined) showError(error);
    else showUrlError(error);
    if (previous !== undefined && error instanceof WorkerError && error.modelKept) {
      model = previous;
      ui.loadProgress.value = 1;
      ui.loadStatus.textContent = `${url === undefined ? 'The picked files' : 'That URL'} could not be opened; ${previous.name} is still loaded.`;
      ui.loadStatus.dataset.state = 'loaded';
      showModelInfo(previous);
    } else {
      ui.loadProgress.hidden = true;
      ui.loadStatus.textContent = 'Loading failed.';
      ui.loadStatus.dataset.state = 'failed';
    }
    return false;
  } finally {
    busy = false;
    refreshControls();
  }
}

function requestOptions(): RequestOptions {
  const number = (input: HTMLInputElement, fallback: number) => {
    const value = Number(input.value);
    return input.value.trim() === '' || !Number.isFinite(value) ? fallback : value;
  };
  const seed = ui.seed.value.trim() === '' ? undefined : Math.floor(number(ui.seed, 0));
  return {
    maxTokens: Math.max(1, Math.floor(number(ui.maxTokens, 128))),
    temperature: Math.max(0, number(ui.temperature, 0)),
    topK: Math.max(0, Math.floor(number(ui.topK, 0))),
    topP: Math.min(1, Math.max(0.01, number(ui.topP, 1))),
    ...(seed === undefined ? {} : { seed }),
    ...(ui.showProbabilities.checked ? { alternatives: 3 } : {}),
  };
}

function selectMode(next: 'complete' | 'chat'): void {
  mode = next;
  ui.tabComplete.setAttribute('aria-selected', String(next === 'complete'));
  ui.tabChat.setAttribute('aria-selected', String(next === 'chat'));
  ui.completeView.hidden = next !== 'complete';
  ui.chatView.hidden = next !== 'chat';
  ui.newChat.hidden = next !== 'chat';
  ui.output.hidden = next !== 'complete';
  ui.generate.textContent = next === 'chat' ? 'Send' : 'Generate';
}

async function checkWebGpu(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu === undefined ? null : await gpu.requestAdapter().catch(() => null);
  if (adapter === null) {
    ui.gpuStatus.textContent = 'no WebGPU';
    ui.gpuStatus.dataset.state = 'missing';
    showError(
      'This browser offers no WebGPU adapter. Use a recent Chrome, Edge or Safari (or Firefox with WebGPU enabled), over https or on localhost.',
    );
    return;
  }
  ui.gpuStatus.textContent = 'WebGPU ready';
  ui.gpuStatus.dataset.state = 'ok';
  await refreshCacheList().catch(showUrlError);
  // The last model loaded by URL comes back after a reload, from this browser's storage.
  const last = localStorage.getItem(LAST_MODEL_KEY);
  if (last !== null && model === undefined && !busy) {
    ui.modelUrl.value = last;
    await loadUrl(last);
  }
}

ui.urlForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!busy) void loadUrl(ui.modelUrl.value);
});
acceptDroppedFiles(ui.modelPanel, (files) => {
  if (!busy) void loadFiles(files);
});
ui.ggufInput.addEventListener('change', () => loadFiles(Array.from(ui.ggufInput.files ?? [])));
ui.folderInput.addEventListener('change', () => loadFiles(Array.from(ui.folderInput.files ?? [])));
ui.tabComplete.addEventListener('click', () => selectMode('complete'));
ui.tabChat.addEventListener('click', () => selectMode('chat'));
ui.generate.addEventListener('click', () => (mode === 'chat' ? chat.send() : completion.run()));
ui.stop.addEventListener('click', () => {
  client.cancelLoad();
  completion.stop();
  chat.stop();
});
ui.newChat.addEventListener('click', () => chat.startNew());
ui.chatInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !ui.generate.disabled) {
    event.preventDefault();
    void chat.send();
  }
});
rememberSettings([
  ui.maxTokens,
  ui.temperature,
  ui.topK,
  ui.topP,
  ui.seed,
  ui.contextLength,
  ui.systemPrompt,
  ui.showProbabilities,
]);
selectMode('complete');
void chat.restore();
refreshControls();
void checkWebGpu();
