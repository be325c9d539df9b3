/** One call read from a tool region, possibly still incomplete. */
export interface PartialCall {
  /** Function name, once complete. */
  name?: string;
  /** The model's own call id, when its format has one. */
  id?: string;
  /** Raw arguments text read so far; it only grows while the region grows (streamed as deltas). */
  argumentsText: string;
  /** True when the call is complete. */
  complete: boolean;
}

/** What a format's parser read from a tool region. */
export interface RegionParse {
  /** The calls, in order. */
  readonly calls: PartialCall[];
  /** Content inside or after the region (it only grows while the region grows). */
  readonly content: string;
  /** Reasoning inside the region (harmony's analysis channel). */
  readonly reasoning: string;
  /** True when the final text has markup that could not be read as calls. */
  readonly broken: boolean;
}

/** A marker that begins the tool part of a message. */
export interface StartMarker {
  /** The marker text. */
  readonly text: string;
  /** Only when the message (after leading whitespace) begins with it. */
  readonly atStart?: boolean;
}

/** A tool-call syntax: where its region starts and how to read it. */
export interface CallSyntax {
  /** Markers that begin the tool region; undefined: the whole message is the region (harmony, functionary). */
  readonly starts?: readonly StartMarker[];
  /** Reads a region (from its start marker). `final`: the text is complete, anything unread is broken. */
  parse(region: string, final: boolean): RegionParse;
}

/** The longest suffix of `text` that is a proper prefix of `marker` (held back while streaming). */
export function partialMarkerLength(text: string, marker: string): number {
  for (let length = Math.min(marker.length - 1, text.length); length > 0; length--) {
    if (marker.startsWith(text.slice(text.length - length))) return length;
  }
  return 0;
}
