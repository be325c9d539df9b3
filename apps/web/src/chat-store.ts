import { type DBSchema, type IDBPDatabase, openDB } from 'idb';

/** One message of a kept chat: what the user wrote or the model replied (the system prompt is kept apart). */
export interface StoredMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

/** One conversation as it is kept across reloads. */
export interface StoredChat {
  /** A random id. */
  readonly id: string;
  /** The first words of the first message. */
  readonly title: string;
  /** The system prompt in force. */
  readonly system: string;
  /** The messages shown (system prompt excluded), including those dropped from the model's context. */
  readonly messages: readonly StoredMessage[];
  /** Index in `messages` before which the model no longer sees the conversation (0: it sees everything). */
  readonly contextStart: number;
  /** Milliseconds since the epoch of the last change. */
  readonly updated: number;
}

interface ChatDatabase extends DBSchema {
  chats: { key: string; value: StoredChat; indexes: { updated: number } };
}

let database: Promise<IDBPDatabase<ChatDatabase>> | undefined;
function open(): Promise<IDBPDatabase<ChatDatabase>> {
  database ??= openDB<ChatDatabase>('strata-chats', 1, {
    upgrade(db) {
      db.createObjectStore('chats', { keyPath: 'id' }).createIndex('updated', 'updated');
    },
  });
  return database;
}

/** Every kept chat, the most recent first. */
export async function listChats(): Promise<StoredChat[]> {
  return (await (await open()).getAllFromIndex('chats', 'updated')).reverse();
}

/** Keeps (creates or replaces) a chat. */
export async function saveChat(chat: StoredChat): Promise<void> {
  await (await open()).put('chats', chat);
}

/** Deletes a chat. */
export async function deleteChat(id: string): Promise<void> {
  await (await open()).delete('chats', id);
}
