/** Parses the total of a `Content-Range: bytes a-b/total` header; undefined when absent or `*`. */
export function totalOfContentRange(header: string | null): number | undefined {
  const match = header === null ? null : /\/\s*(\d+)\s*$/.exec(header);
  if (match === null) return undefined;
  const total = Number(match[1]);
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Parses the first byte of a `Content-Range: bytes a-b/total` header. */
export function startOfContentRange(header: string | null): number | undefined {
  const match = header === null ? null : /^\s*bytes\s+(\d+)-/.exec(header);
  return match === null ? undefined : Number(match[1]);
}

function hexOfBase64(base64: string): string | undefined {
  try {
    const binary = atob(base64);
    if (binary.length !== 32) return undefined;
    return Array.from(binary, (character) => character.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch {
    return undefined;
  }
}

/**
 * The SHA-256 (lowercase hex) a server states for a file: `Repr-Digest: sha-256=:…:` (RFC 9530), `Digest: SHA-256=…`
 * (RFC 3230), or Hugging Face's `X-Linked-ETag` for files stored with Git LFS; undefined when it states none.
 */
export function serverSha256(headers: Headers): string | undefined {
  const representation = /sha-256=:([A-Za-z0-9+/=]+):/i.exec(headers.get('repr-digest') ?? '');
  if (representation?.[1] !== undefined) return hexOfBase64(representation[1]);
  const digest = /sha-256=([A-Za-z0-9+/=]+)/i.exec(headers.get('digest') ?? '');
  if (digest?.[1] !== undefined) return hexOfBase64(digest[1]);
  const linked = /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(headers.get('x-linked-etag') ?? '');
  return linked?.[1]?.toLowerCase();
}
