/**
 * The page's side of models by URL: the URL field, the list of downloaded models (size, load, delete), the last model
 * remembered across reloads, and drag and drop of files. The worker owns the cache; this only renders what it reports.
 */
import type { CachedEntry, CacheProgress } from '@strata/loaders';
import { formatBytes } from './format.js';

/** localStorage key of the last model loaded by URL (loaded again, from the cache, after a reload). */
export const LAST_MODEL_KEY = 'strata.lastModelUrl';

/** One line for a download in progress: bytes, speed, time left, or that it came from the cache. */
export function describeDownload(progress: CacheProgress): { fraction: number; text: string } {
  const fraction = progress.totalBytes === 0 ? 1 : Math.min(1, progress.loadedBytes / progress.totalBytes);
  if (progress.from === 'cache')
    return { fraction, text: `from this browser's storage (${formatBytes(progress.totalBytes)})` };
  const resumed = progress.resumedFromBytes > 0 ? ` (resumed at ${formatBytes(progress.resumedFromBytes)})` : '';
  const speed = progress.bytesPerSecond > 0 ? ` · ${formatBytes(progress.bytesPerSecond)}/s` : '';
  const left = progress.secondsLeft === undefined ? '' : ` · ${Math.ceil(progress.secondsLeft)} s left`;
  return {
    fraction,
    text: `downloading ${Math.floor(fraction * 100)}% · ${formatBytes(progress.loadedBytes)} / ${formatBytes(progress.totalBytes)}${resumed}${speed}${left}`,
  };
}

/** What a row of the downloaded-models list can do. */
export interface CacheListActions {
  readonly load: (url: string) => void;
  readonly remove: (url: string) => void;
}

/**
 * Renders the cached files as rows (URL, size, complete or partial, Load and Delete buttons). Entries kept beside a
 * model (`URL#kernels`, a folder's `URL#files`) are not shown; a folder's files are shown as one row per file.
 */
export function renderCacheList(
  list: HTMLUListElement,
  entries: readonly CachedEntry[],
  actions: CacheListActions,
): void {
  const rows = entries
    .filter((entry) => !entry.url.includes('#'))
    .map((entry) => {
      const item = document.createElement('li');
      item.dataset.url = entry.url;
      item.dataset.complete = String(entry.complete);
      const url = document.createElement('span');
      url.className = 'cached-url';
      url.textContent = entry.url;
      const size = document.createElement('span');
      size.className = 'muted';
      size.textContent = entry.complete
        ? formatBytes(entry.byteLength)
        : `${formatBytes(entry.byteLength)} of ${formatBytes(entry.totalBytes)} (partial: resumes on load)`;
      const load = document.createElement('button');
      load.type = 'button';
      load.className = 'button secondary small';
      load.textContent = 'Load';
      load.addEventListener('click', () => actions.load(entry.url));
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'button secondary small';
      remove.textContent = 'Delete';
      remove.setAttribute('aria-label', `Delete ${entry.url} from this browser's storage`);
      remove.addEventListener('click', () => actions.remove(entry.url));
      item.append(url, size, ...(/\.(json|jinja)$/.test(entry.url) ? [] : [load]), remove);
      return item;
    });
  if (rows.length === 0) {
    const empty = document.createElement('li');
    empty.className = 'muted';
    empty.textContent = 'Nothing downloaded yet.';
    rows.push(empty);
  }
  list.replaceChildren(...rows);
}

/** Calls `onFiles` with the files dropped on `target` (highlighting it while something is dragged over). */
export function acceptDroppedFiles(target: HTMLElement, onFiles: (files: File[]) => void): void {
  target.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    target.classList.add('dragging');
  });
  target.addEventListener('dragleave', () => target.classList.remove('dragging'));
  target.addEventListener('drop', (event) => {
    event.preventDefault();
    target.classList.remove('dragging');
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length > 0) onFiles(files);
  });
}
