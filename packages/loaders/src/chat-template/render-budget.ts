import { TemplateRuntimeError } from './template-runtime-error.js';

/**
 * Limits on one rendering of a chat template, like jinja2's sandbox (which caps `range` at 100,000 items) but covering
 * every way a template from a stranger can exhaust memory or time. Each is checked before the work it bounds is done.
 */
export interface ChatTemplateLimits {
  /** Most items one `range(…)` may produce (jinja2's sandbox `MAX_RANGE`). Default 100,000. */
  readonly maxRange?: number;
  /** Most items (list) or characters (string) one operation may build: `*`, `+`, `~`, a filter, a method. Default 4,000,000. */
  readonly maxLength?: number;
  /** Most characters the rendered prompt (or any block of it) may have. Default 16,000,000. */
  readonly maxOutput?: number;
  /** Deepest nesting of evaluation: recursive macros, nested expressions, values printed inside values. Default 400. */
  readonly maxDepth?: number;
  /** Most template nodes evaluated in one rendering: the time budget. Default 2,000,000 (the fixtures' heaviest template takes about 350 per message). */
  readonly maxSteps?: number;
  /**
   * Longest one rendering may run, in milliseconds, checked every 1024 steps: a guard for slow machines, where the
   * step budget alone may take long. Default 10,000.
   */
  readonly maxMilliseconds?: number;
}

/** The limits used when none are given. */
export const DEFAULT_CHAT_TEMPLATE_LIMITS: Required<ChatTemplateLimits> = {
  maxRange: 100_000,
  maxLength: 4_000_000,
  maxOutput: 16_000_000,
  maxDepth: 400,
  maxSteps: 2_000_000,
  maxMilliseconds: 10_000,
};

/** Which limit was hit, as named in {@link ChatTemplateLimits}. */
export type ChatTemplateLimit = keyof ChatTemplateLimits;

/** A rendering that went past one of its {@link ChatTemplateLimits}. */
export class RenderLimitError extends TemplateRuntimeError {
  constructor(
    readonly limit: ChatTemplateLimit,
    what: string,
    allowed: number,
  ) {
    super(
      limit === 'maxDepth' ? 'RecursionError' : limit === 'maxRange' ? 'OverflowError' : 'SecurityError',
      `${what} is over the chat template's render limit ${limit} (${allowed}); the template is runaway or hostile ` +
        `(raise the limit in the ChatTemplate options only for a template you trust)`,
    );
  }
}

/** The counters of one rendering against its limits. */
export class RenderBudget {
  private readonly limits: Required<ChatTemplateLimits>;
  private steps = 0;
  private depth = 0;
  private readonly deadline: number;

  constructor(limits: ChatTemplateLimits = {}) {
    this.limits = { ...DEFAULT_CHAT_TEMPLATE_LIMITS, ...limits };
    this.deadline = performance.now() + this.limits.maxMilliseconds;
  }

  /** Counts one evaluated node. */
  step(): void {
    if (++this.steps > this.limits.maxSteps) {
      throw new RenderLimitError(
        'maxSteps',
        `evaluating more than ${this.limits.maxSteps} template nodes`,
        this.limits.maxSteps,
      );
    }
    if ((this.steps & 1023) === 0 && performance.now() > this.deadline) {
      throw new RenderLimitError(
        'maxMilliseconds',
        `rendering for more than ${this.limits.maxMilliseconds} ms`,
        this.limits.maxMilliseconds,
      );
    }
  }

  /** Goes one level deeper; pair with {@link RenderBudget.leave} in a `finally`. */
  enter(): void {
    if (this.depth >= this.limits.maxDepth) {
      throw new RenderLimitError(
        'maxDepth',
        `nesting deeper than ${this.limits.maxDepth} levels`,
        this.limits.maxDepth,
      );
    }
    this.depth++;
  }

  /** Comes back up one level. */
  leave(): void {
    this.depth--;
  }

  /** Runs `work` one level deeper. */
  nested<T>(work: () => T): T {
    this.enter();
    try {
      return work();
    } finally {
      this.leave();
    }
  }

  /** Checks a `range` of `count` items before it is built. */
  range(count: number): void {
    if (count > this.limits.maxRange) {
      throw new RenderLimitError('maxRange', `range() of ${count} items`, this.limits.maxRange);
    }
  }

  /** Checks a list of `count` items or a string of `count` characters, built or about to be built by `what`. */
  length(count: number, what: string): void {
    if (count > this.limits.maxLength) {
      throw new RenderLimitError('maxLength', `${what} of ${count} items or characters`, this.limits.maxLength);
    }
  }

  /** Checks rendered output of `count` characters. */
  output(count: number): void {
    if (count > this.limits.maxOutput) {
      throw new RenderLimitError('maxOutput', `rendered output of ${count} characters`, this.limits.maxOutput);
    }
  }
}

/**
 * The budget of the rendering in progress. Rendering is synchronous, so one slot, set and restored around each render
 * (nested renders included), reaches the filters and Python semantics without threading a parameter through them all.
 */
let active = new RenderBudget();

/** The budget of the rendering in progress (defaults when called outside one, e.g. a filter used directly in a test). */
export function renderBudget(): RenderBudget {
  return active;
}

/** Runs `work` with `budget` as the active one. */
export function withRenderBudget<T>(budget: RenderBudget, work: () => T): T {
  const previous = active;
  active = budget;
  try {
    return work();
  } finally {
    active = previous;
  }
}

/** The length of a value's payload when it is a string or a list, else 0. */
export function payloadLength(value: { readonly value: unknown }): number {
  const payload = value.value;
  return typeof payload === 'string' || Array.isArray(payload) ? payload.length : 0;
}
