/**
 * The chat: a system prompt, the conversation (Markdown replies with a copy button), the past chats kept in IndexedDB,
 * the context meter, and the note shown when the oldest turns no longer fit. It talks to the model only through
 * {@link ChatCompletions}, the OpenAI-shaped protocol.
 */
import type { ChatCompletionChunk, ChatCompletionMessage, ChatCompletions } from './chat-completions.js';
import { deleteChat, listChats, type StoredChat, saveChat } from './chat-store.js';
import { formatStats } from './format.js';
import { renderMarkdown } from './markdown.js';
import type { RequestOptions } from './protocol.js';

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
    const messages: ChatCompletionMessage[] = [...this.#chat.messages, { role: 'user', content }];
    const user = this.#append({ role: 'user', content });
    const reply = this.#append({ role: 'assistant', content: '' });
    const options = this.host.requestOptions();
    const visible = messages.slice(this.#chat.contextStart);
    let text = '';
    let dropped = 0;
    let last: ChatCompletionChunk | undefined;
    this.host.setBusy(true);
    this.elements.stats.textContent = 'waiting for the first token…';
    this.elements.stats.dataset.state = 'running';
    this.elements.tokenIds.textContent = '';
    try {
      await this.completions.create(
        {
          messages: [...(system === '' ? [] : [{ role: 'system' as const, content: system }]), ...visible],
          max_tokens: options.maxTokens,
          temperature: options.temperature,
          top_p: options.topP,
          top_k: options.topK,
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          stream: true,
          truncation: 'oldest-turns',
        },
        (chunk) => {
          last = chunk;
          if (chunk.strata?.droppedMessages !== undefined) dropped = chunk.strata.droppedMessages;
          const piece = chunk.choices[0]?.delta.content;
          if (piece !== undefined) {
            text += piece;
            this.#setContent(reply, text);
          }
        },
      );
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
    }
    const contextStart = this.#chat.contextStart + dropped;
    if (dropped > 0) this.#noteDropped(contextStart);
    const finish = last?.choices[0]?.finish_reason ?? 'stop';
    if (last?.strata?.stats !== undefined) {
      this.elements.stats.textContent = formatStats(last.strata.stats, finish);
    }
    this.elements.stats.dataset.state = 'done';
    this.elements.tokenIds.textContent = (last?.strata?.tokens ?? []).join(', ');
    this.#updateMeter(last?.usage?.total_tokens ?? 0);
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

  #append(message: ChatCompletionMessage): HTMLLIElement {
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
