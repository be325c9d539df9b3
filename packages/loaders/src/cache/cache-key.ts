import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** A file-name-safe key for a URL: the hex SHA-256 of its UTF-8 bytes (URLs hold characters no file system accepts). */
export function cacheKey(url: string): string {
  return bytesToHex(sha256(utf8ToBytes(url)));
}
