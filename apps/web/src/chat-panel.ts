/**
 * The chat: a system prompt, the conversation (Markdown replies with a copy button), the past chats kept in IndexedDB,
 * the context meter, and the note shown when the oldest turns no longer fit. It talks to the model only through
 * OpenAI's `chat.completions.create` (`@strata/pipeline`'s {@link ChatCompletions}): streamed chunks, `truncation:
 * 'auto'` to leave out the oldest turns when the context is full.
 */
import type { ChatCompletions, OpenAIUsage } from '@strata/pipeline';
import { deleteChat, listChats, type StoredChat, type StoredMessage, saveChat } from './chat-store.js';
import { formatStats, streamStats } from './format.js';
import { renderMarkdown } from './markdown.js';
import { type RequestOptions, requestFields } from './request-options.js';

/** The page elements the chat uses. */
export interface ChatElements {
  readonly log: HTMLOListElement;
  readonly input: HTMLTextAreaElement;
  readonly systemPrompt: HTMLTextAreaElement;
  readonly chatList: HTMLUListElement;
  readonly meter: HTMLMeterElement;
  readonly meterText: HTMLSpanElement;
  readonly error: HTMLParagraphElement;
  readonly stats: HTMLParagraphElement;
  readonly tokenIds: HTMLElement;
}

/** What the chat needs from the page around it. */
export interface ChatHost {
  /** The name of the loaded model (the `model` of requests). */
  readonly model: () => string;
  /** The sampling options of the form. */
  readonly requestOptions: () => RequestOptions;
  /** Marks the page busy (a request runs) or idle. */
  readonly setBusy: (busy: boolean) => void;
}

function newChat(system: string): StoredChat {
  return { id: crypto.randomUUID(), title: '', system, messages: [], contextStart: 0, updated: Date.now() };
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

/** The chat view's behaviour; create one per page. */
export class ChatPanel {
  #chat: StoredChat;
  #contextLength = 0;
  #running: AbortController | undefined;

  constructor(
    private readonly elements: ChatElements,
    private readonly completions: ChatCompletions,
    private readonly host: ChatHost,
  ) {
    this.#chat = newChat(elements.systemPrompt.value);
  }

  /** Shows the most recent kept chat and the list of chats. */
  async restore(): Promise<void> {
    const chats = await listChats().catch(() => []);
    if (chats[0] !== undefined) this.#show(chats[0]);
    await this.#renderList(chats);
  }

  /** The loaded model's context: the meter's limit. */
  setContextLength(tokens: number): void {
    this.#contextLength = tokens;
    this.elements.meter.max = tokens;
    this.#updateMeter(this.elements.meter.value);
  }

  /** Stops the reply being generated (it ends where it is, as a finished reply). */
  stop(): void {
    this.#running?.abort();
  }

  /** Starts an empty chat (the previous one stays in the list). */
  async startNew(): Promise<void> {
    this.#show(newChat(this.elements.systemPrompt.value));
    await this.#renderList();
  }

  /** Sends the input as the user's message and streams the reply. */
  async send(): Promise<void> {
    const content = this.elements.input.value.trim();
    if (content === '') return;
    this.elements.error.hidden = true;
    this.elements.input.value = '';
    const system = this.elements.systemPrompt.value.trim();
    const messages: StoredMessage[] = [...this.#chat.messages, { role: 'user', content }];
    const user = this.#append({ role: 'user', content });
    const reply = this.#append({ role: 'assistant', content: '' });
    const options = this.host.requestOptions();
    const visible = messages.slice(this.#chat.contextStart);
    const controller = new AbortController();
    this.#running = controller;
    let text = '';
    let dropped = 0;
    let tokens: readonly number[] = [];
    let finish: string = 'stop';
    let usage: OpenAIUsage | null | undefined;
    const requested = performance.now();
    let firstToken: number | undefined;
    this.host.setBusy(true);
    this.elements.stats.textContent = 'waiting for the first token…';
    this.elements.stats.dataset.state = 'running';
    this.elements.tokenIds.textContent = '';
    try {
      const stream = await this.completions.create(
        {
          ...requestFields(this.host.model(), options),
          messages: [...(system === '' ? [] : [{ role: 'system' as const, content: system }]), ...visible],
          // The oldest turns are left out when the conversation no longer fits; every chunk says how many.
          truncation: 'auto',
        },
        { signal: controller.signal },
      );
      for await (const chunk of stream) {
        dropped = chunk.truncated_messages ?? dropped;
        usage = chunk.usage ?? usage;
        const choice = chunk.choices[0];
        if (choice === undefined) continue;
        firstToken ??= performance.now();
        if (choice.delta.content !== undefined && choice.delta.content !== '') {
          text += choice.delta.content;
          this.#setContent(reply, text);
        }
        if (choice.finish_reason !== null) finish = choice.finish_reason;
        if (choice.tokens !== undefined) tokens = choice.tokens;
      }
    } catch (error) {
      user.remove();
      reply.remove();
      this.elements.input.value = content;
      this.elements.error.textContent = errorText(error);
      this.elements.error.hidden = false;
      this.elements.stats.textContent = '';
      this.elements.stats.dataset.state = 'failed';
      this.host.setBusy(false);
      return;
    } finally {
      if (this.#running === controller) this.#running = undefined;
    }
    const contextStart = this.#chat.contextStart + dropped;
    if (dropped > 0) this.#noteDropped(contextStart);
    const stats = streamStats({ requested, firstToken, ended: performance.now() }, usage);
    this.elements.stats.textContent = formatStats(stats, controller.signal.aborted ? 'aborted' : finish);
    this.elements.stats.dataset.state = 'done';
    this.elements.tokenIds.textContent = tokens.join(', ');
    this.#updateMeter(usage?.total_tokens ?? 0);
    this.#chat = {
      ...this.#chat,
      title: this.#chat.title === '' ? content.slice(0, 60) : this.#chat.title,
      system,
      messages: [...messages, { role: 'assistant', content: text }],
      contextStart,
      updated: Date.now(),
    };
    this.host.setBusy(false);
    await saveChat(this.#chat).catch(() => undefined);
    await this.#renderList();
  }

  #show(chat: StoredChat): void {
    this.#chat = chat;
    this.elements.systemPrompt.value = chat.system;
    this.elements.log.replaceChildren();
    chat.messages.forEach((message, index) => {
      if (index === chat.contextStart && index > 0) this.#noteDropped(chat.contextStart);
      this.#append(message);
    });
    this.#updateMeter(0);
  }

  #append(message: StoredMessage): HTMLLIElement {
    const item = document.createElement('li');
    item.dataset.role = message.role;
    if (message.role === 'assistant') {
      const body = document.createElement('div');
      body.className = 'markdown';
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'copy';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy this reply');
      copy.addEventListener('click', () => {
        navigator.clipboard.writeText(item.dataset.text ?? '').then(
          () => {
            copy.textContent = 'Copied';
            setTimeout(() => (copy.textContent = 'Copy'), 1500);
          },
          () => (copy.textContent = 'Copy failed'),
        );
      });
      item.append(body, copy);
      this.#setContent(item, message.content);
    } else item.textContent = message.content;
    this.elements.log.append(item);
    return item;
  }

  #setContent(item: HTMLLIElement, text: string): void {
    item.dataset.text = text;
    const body = item.querySelector('.markdown');
    if (body !== null) body.innerHTML = renderMarkdown(text);
  }

  /** The note that the model no longer sees the oldest messages, placed before the first one it sees. */
  #noteDropped(count: number): void {
    this.elements.log.querySelector('li.note')?.remove();
    const note = document.createElement('li');
    note.className = 'note';
    note.dataset.role = 'note';
    note.textContent = `The ${count === 1 ? 'oldest message no longer fits' : `${count} oldest messages no longer fit`} the model's context: the model sees the conversation from here on (the system prompt still applies).`;
    const first = this.elements.log.querySelectorAll('li:not(.note)')[count];
    this.elements.log.insertBefore(note, first ?? null);
  }

  #updateMeter(used: number): void {
    this.elements.meter.value = used;
    this.elements.meterText.textContent =
      this.#contextLength === 0 ? '' : `${used} / ${this.#contextLength} tokens of context`;
  }

  async #renderList(known?: StoredChat[]): Promise<void> {
    const chats = known ?? (await listChats().catch(() => []));
    const items = chats.map((chat) => {
      const item = document.createElement('li');
      item.dataset.id = chat.id;
      item.classList.toggle('current', chat.id === this.#chat.id);
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'chat-title';
      open.textContent = chat.title === '' ? 'Untitled chat' : chat.title;
      open.addEventListener('click', () => {
        this.#show(chat);
        void this.#renderList();
      });
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'chat-delete';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Delete the chat "${open.textContent}"`);
      remove.addEventListener('click', async () => {
        await deleteChat(chat.id);
        if (chat.id === this.#chat.id) this.#show(newChat(this.elements.systemPrompt.value));
        await this.#renderList();
      });
      item.append(open, remove);
      return item;
    });
    this.elements.chatList.replaceChildren(...items);
  }
}
