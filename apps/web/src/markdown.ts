import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const markdown = new Marked({ gfm: true, breaks: true, async: false });

/**
 * A model's reply as sanitized HTML: Markdown rendered by marked (GitHub-flavoured, line breaks kept), then cleaned by
 * DOMPurify, so a reply can format text but never run script or load anything.
 */
export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(markdown.parse(text) as string, { USE_PROFILES: { html: true } });
}
