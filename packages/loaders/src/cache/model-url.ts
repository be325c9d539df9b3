import { StrataError } from '@strata/core';

/** The Hugging Face Hub address `hf://` paths resolve against. */
export const HUGGING_FACE_HUB = 'https://huggingface.co';

/** What a model URL names: one GGUF file (the first shard of a split model included) or a Hugging Face folder. */
export interface ModelUrl {
  /** `gguf`: a `.gguf` file; `folder`: a directory of config.json, tokenizer files and safetensors weights. */
  readonly kind: 'gguf' | 'folder';
  /** The HTTP(S) URL: the file's, or the folder's ending in `/`. */
  readonly url: string;
}

/** Whether `text` is a model URL ({@link resolveModelUrl} accepts it) rather than a local path. */
export function isModelUrl(text: string): boolean {
  return /^(https?|hf):\/\//i.test(text);
}

/**
 * Resolves a model URL. `hf://owner/repo/path/file.gguf` becomes the Hub's `resolve/main` URL of that file and
 * `hf://owner/repo` the folder `…/owner/repo/resolve/main/` (`hf://owner/repo@revision/…` picks another revision).
 * An `http(s)` URL ending in `.gguf` is a GGUF file; any other is a folder. `INVALID_ARGUMENT` for anything else.
 */
export function resolveModelUrl(text: string, hub: string = HUGGING_FACE_HUB): ModelUrl {
  const hubMatch = /^hf:\/\/([^/@\s]+)\/([^/@\s]+)(?:@([^/\s]+))?(?:\/(.*))?$/i.exec(text);
  if (hubMatch !== null) {
    const [, owner, repository, revision, path] = hubMatch;
    const base = `${hub.replace(/\/$/, '')}/${owner}/${repository}/resolve/${encodeURIComponent(revision ?? 'main')}/`;
    const file = (path ?? '').replace(/\/$/, '');
    if (file === '') return { kind: 'folder', url: base };
    const url = `${base}${file.split('/').map(encodeURIComponent).join('/')}`;
    return file.endsWith('.gguf') ? { kind: 'gguf', url } : { kind: 'folder', url: `${url}/` };
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch (cause) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${text} is not a URL; give http(s)://… or hf://owner/repo[/file.gguf].`,
      {
        cause,
        details: { url: text },
      },
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${text} is not an http(s) or hf:// URL; give http(s)://… or hf://owner/repo[/file.gguf].`,
      { details: { url: text } },
    );
  }
  if (parsed.pathname.endsWith('.gguf')) return { kind: 'gguf', url: parsed.href };
  if (/\.(safetensors|json|jinja)$/.test(parsed.pathname)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${text} is one file of a Hugging Face model: give the folder's URL (ending in /) or a .gguf file.`,
      { details: { url: text } },
    );
  }
  return { kind: 'folder', url: parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/` };
}
