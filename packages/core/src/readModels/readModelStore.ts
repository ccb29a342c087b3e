/**
 * The read-model store port: where projections keep what they compute, and their checkpoints.
 *
 * A read model is a set of named collections of JSON documents, one collection per table an
 * analyst can query (`{projection}__{collection}` in SQL stores, with columns `key` and `doc`).
 * A projection's changes, its checkpoint and its dead letters are committed together in ONE
 * transaction, fenced by the checkpoint they follow (and the lease, when one is held), so a
 * crash or a second instance can never apply a batch twice.
 */

import {
  isKeepableText,
  type JsonProblem,
  jsonProblem,
  unkeepableTextFix,
  unkeepableTextRule,
} from '../events/plainJson.js';

/** A read-model document: plain JSON (objects, arrays, strings, finite numbers, booleans, null). */
export type ReadModelDocument = { readonly [key: string]: unknown };

/** One document written (`document`) or deleted (`document: null`) by a batch. */
export interface DocumentChange {
  readonly collection: string;
  readonly key: string;
  readonly document: ReadModelDocument | null;
}

/** Where a projection stands, as stored. */
export interface ProjectionCheckpoint {
  readonly projection: string;
  /** The projection's version the read model was built with. */
  readonly version: number;
  /** Global position of the last event applied; 0n before the first. */
  readonly position: bigint;
  /** `failed`: stopped at a poison event (see `error`) until it is fixed and rebuilt or resumed. */
  readonly status: 'active' | 'failed';
  readonly error?: string;
  /** ISO-8601 time of the last commit. */
  readonly updatedAt: string;
}

/** An event a projection could not apply, kept with the error instead of stopping the world. */
export interface DeadLetter {
  readonly projection: string;
  readonly version: number;
  readonly position: bigint;
  readonly eventId: string;
  readonly eventType: string;
  readonly streamId: string;
  readonly error: string;
  /** ISO-8601. */
  readonly deadLetteredAt: string;
}

/** Ownership of one projection by one engine instance, until `expiresAt` unless renewed. */
export interface Lease {
  readonly projection: string;
  readonly owner: string;
  /** Grows by one at every acquisition: a commit under an older token is refused. */
  readonly token: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** What one projection commits after a batch of events. */
export interface ProjectionBatch {
  readonly projection: string;
  readonly version: number;
  /** The checkpoint this batch continues from; the commit is refused if the stored one differs. */
  readonly after: bigint;
  /** The new checkpoint: the position of the last event of the batch. */
  readonly position: bigint;
  readonly changes: readonly DocumentChange[];
  readonly deadLetters?: readonly DeadLetter[];
  /** Set to mark the projection failed (a poison event under the `stop` policy). */
  readonly failure?: string;
  /** When given, the commit is refused unless this lease is still the current, unexpired one. */
  readonly lease?: Lease;
}

/** Which documents of a collection `documents` reads: every one when nothing is given. */
export interface DocumentsQuery {
  /** Only the documents whose key starts with this text, e.g. `f|night-contacts|`. */
  readonly keyPrefix?: string;
  /**
   * Only the documents whose key comes after this one in key order: with `limit`, a page after
   * the last key of the page before, so a big collection is read without holding all of it.
   */
  readonly afterKey?: string;
  /** At most this many documents, the first in key order (a whole number of 1 or more). */
  readonly limit?: number;
}

export interface ReadModelStore {
  /** `memory`, `sqlite` or `postgres`: where the read models live. */
  readonly kind: string;
  /** Creates the projection's collections (tables) if they are missing. Idempotent. */
  prepare(projection: string, collections: readonly string[]): Promise<void>;
  /** The stored checkpoint, or undefined if the projection never committed. */
  checkpoint(projection: string): Promise<ProjectionCheckpoint | undefined>;
  /**
   * Applies every batch in one transaction: documents, dead letters, checkpoints. Refused with
   * a LeaseLostError, writing nothing, when a checkpoint is not at `after` or a lease is stale.
   */
  commit(batches: readonly ProjectionBatch[]): Promise<void>;
  /**
   * Empties the projection's collections and sets its checkpoint to 0n at `version`, in one
   * transaction (a rebuild). Dead letters of older versions are kept for the record.
   */
  reset(projection: string, version: number, collections: readonly string[], lease?: Lease): Promise<void>;
  getDocument(projection: string, collection: string, key: string): Promise<ReadModelDocument | undefined>;
  /**
   * Every document of a collection, in key order; with `query.keyPrefix`, only those whose key
   * starts with it (read through the key's index in SQL stores, not by reading the rest).
   */
  documents(
    projection: string,
    collection: string,
    query?: DocumentsQuery,
  ): Promise<{ key: string; document: ReadModelDocument }[]>;
  /**
   * Optional synchronous read of one committed document, for stores that can answer without
   * waiting (memory, SQLite): the projection engine then keeps only some documents in memory
   * and reads the others while a projection applies an event. Returns a fresh object the caller
   * may change, or undefined when the key holds no document. Stores that can only read
   * asynchronously (PostgreSQL) leave it out, and the engine keeps every document in memory.
   */
  getDocumentNow?(projection: string, collection: string, key: string): ReadModelDocument | undefined;
  /**
   * Optional synchronous list of a collection's committed keys, in no particular order; given
   * together with `getDocumentNow`. Read lazily: consume it before the next commit.
   */
  keysNow?(projection: string, collection: string): Iterable<string>;
  /**
   * True when `getDocumentNow` answers a key it does not hold as cheaply as a lookup in memory
   * (the memory store). The engine then asks it about every key it does not hold; otherwise
   * (SQLite) it keeps a Bloom filter of the stored keys and asks only about keys that may be
   * stored, so that a rebuild's new keys cost no query.
   */
  readonly missesAreCheap?: boolean;
  deadLetters(projection: string): Promise<DeadLetter[]>;
  /** Takes the lease if it is free or expired (or already ours); undefined when another owner holds it. */
  acquireLease(projection: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends our lease; undefined when it was lost (expired and taken, or released). */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  releaseLease(lease: Lease): Promise<void>;
  close(): Promise<void>;
}

const namePattern = /^[a-z][a-z0-9_]{0,47}$/;

/**
 * Projection and collection names become SQL table names (`{projection}__{collection}`), so
 * they are short lowercase identifiers: letters, digits and single underscores.
 */
export const checkReadModelName = (what: 'projection' | 'collection', name: string): string => {
  if (typeof name !== 'string' || !namePattern.test(name) || name.includes('__')) {
    throw new TypeError(
      `A ${what} name must be 1–48 lowercase letters, digits and single underscores, starting with a letter (it names a SQL table); got ${JSON.stringify(name)}.`,
    );
  }
  return name;
};

/** The SQL table that holds a projection's collection. */
export const readModelTableName = (projection: string, collection: string): string =>
  `${checkReadModelName('projection', projection)}__${checkReadModelName('collection', collection)}`;

/** The longest table name every SQL store keeps whole: PostgreSQL cuts identifiers at 63 bytes. */
export const maxReadModelTableName = 63;

/**
 * Refuses a projection and collection whose table name (`{projection}__{collection}`) PostgreSQL
 * would cut short, whichever store runs it now, so that a projection that runs on SQLite or in
 * memory also runs on PostgreSQL. The names are lowercase ASCII: a character is a byte.
 */
export const checkReadModelTableName = (projection: string, collection: string): string => {
  const name = readModelTableName(projection, collection);
  if (name.length > maxReadModelTableName) {
    throw new TypeError(
      `The table for projection "${projection}", collection "${collection}" would be named ${name} (${name.length} characters), longer than the ${maxReadModelTableName} PostgreSQL keeps: shorten the projection or collection name.`,
    );
  }
  return name;
};

/**
 * The key prefix a `documents` query asks for, checked: undefined when every document is wanted
 * (no query, no prefix, or an empty one).
 */
export const keyPrefixOf = (query: DocumentsQuery | undefined): string | undefined => {
  const prefix = query?.keyPrefix;
  if (prefix === undefined) return undefined;
  if (typeof prefix !== 'string') {
    throw new TypeError(
      `documents' keyPrefix must be text (the start of the keys wanted); got ${typeof prefix}. Leave it out to read every document.`,
    );
  }
  const rule = unkeepableTextRule(prefix);
  if (rule !== undefined) {
    throw new TypeError(
      `documents' keyPrefix ${rule}: no key can start with it; give the start of keys as they were put.`,
    );
  }
  return prefix === '' ? undefined : prefix;
};

/** A `documents` query's page, checked: the key to read after and the most documents, when given. */
export const documentsPageOf = (
  query: DocumentsQuery | undefined,
): { afterKey: string | undefined; limit: number | undefined } => {
  const afterKey = query?.afterKey;
  const limit = query?.limit;
  if (afterKey !== undefined && typeof afterKey !== 'string') {
    throw new TypeError(
      `documents' afterKey must be text (the last key of the page before); got ${typeof afterKey}. Leave it out to read from the first key.`,
    );
  }
  const rule = afterKey === undefined ? undefined : unkeepableTextRule(afterKey);
  if (rule !== undefined) {
    throw new TypeError(
      `documents' afterKey ${rule}: no key can be it; give the last key of the page before.`,
    );
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new TypeError(
      `documents' limit must be a whole number of 1 or more; got ${String(limit)}. Leave it out to read every document.`,
    );
  }
  return { afterKey, limit };
};

/**
 * Every document of a collection in key order, a page of at most `pageSize` at a time, each page
 * read after the last key of the one before: a collection of millions is never held at once.
 */
export async function* documentPages(
  readModels: ReadModelStore,
  projection: string,
  collection: string,
  pageSize: number,
): AsyncGenerator<{ key: string; document: ReadModelDocument }[]> {
  let afterKey: string | undefined;
  for (;;) {
    const page = await readModels.documents(projection, collection, {
      limit: pageSize,
      ...(afterKey === undefined ? {} : { afterKey }),
    });
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    afterKey = page.at(-1)?.key;
  }
}

/**
 * The longest key, in bytes of UTF-8, that every store keeps: PostgreSQL cannot index a key of
 * much more than 2,700 bytes, and a key is an id, not a place for text.
 */
export const maxKeyBytes = 1024;

/** Bytes of UTF-8 in a text of whole characters. */
const utf8Bytes = (text: string): number => {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
};

/** Where a refused key was put, worded only when refused: the engine checks every key put. */
const putAt = (projection: string, collection: string): string =>
  `Projection "${projection}" put a document at ${collection}/`;

/**
 * Refuses a document key that not every store keeps as it is: one holding U+0000 or half of a
 * surrogate pair (see `unkeepableTextRule`: SQLite and PostgreSQL keep keys as UTF-8 text, so the
 * half would come back as something else, and PostgreSQL refuses U+0000), or one longer than
 * `maxKeyBytes`. A TypeError names where, before anything is written.
 */
export const refuseUnkeepableKey = (projection: string, collection: string, key: string): void => {
  if (!isKeepableText(key)) {
    const rule = unkeepableTextRule(key);
    if (rule !== undefined) {
      throw new TypeError(
        `${putAt(projection, collection)}${JSON.stringify(key)}, and its key ${rule}; ${unkeepableTextFix} (read-model stores keep keys as UTF-8 text).`,
      );
    }
  }
  // No character takes more than three bytes of UTF-8 per UTF-16 unit: a short key needs no count.
  if (key.length * 3 <= maxKeyBytes) return;
  const bytes = utf8Bytes(key);
  if (bytes <= maxKeyBytes) return;
  throw new TypeError(
    `${putAt(projection, collection)}${JSON.stringify(key.slice(0, 40))}… (${bytes} bytes of UTF-8), longer than the ${maxKeyBytes} bytes every read-model store can index; ` +
      'key it by an id, or by a digest of the text (e.g. SHA-256 in hex).',
  );
};

/**
 * A document's JSON text, as a store keeps it, its key checked (`refuseUnkeepableKey`). Anything
 * that is not a JSON object (an array, a text, a number), or that holds a text not every store
 * keeps alike, is refused with a TypeError naming where it was put, so that a commit refuses it
 * before writing anything; a cycle or a BigInt throws JSON's own TypeError.
 */
export const documentJson = (
  projection: string,
  collection: string,
  key: string,
  document: ReadModelDocument,
): string => {
  refuseUnkeepableKey(projection, collection, key);
  const text: unknown = JSON.stringify(document);
  if (
    typeof document !== 'object' ||
    document === null ||
    Array.isArray(document) ||
    typeof text !== 'string'
  ) {
    throw new TypeError(
      `Projection "${projection}" put a document that is not a JSON object at ${collection}/${key}; put plain objects.`,
    );
  }
  // JSON escapes U+0000 and half a surrogate pair as \u…: only then is the document walked.
  if (text.includes('\\u')) {
    const found = jsonProblem(document, { texts: true });
    if (found) throw documentProblemError(projection, collection, key, found);
  }
  return text;
};

/** Where a document holds what the stores would not keep as it is, and what to put instead. */
const documentProblemError = (
  projection: string,
  collection: string,
  key: string,
  found: JsonProblem,
): TypeError => {
  const where = found.path === '' ? 'it' : `its field "${found.path}"`;
  return new TypeError(
    `Projection "${projection}" put a document at ${collection}/${key}, and ${where} ${found.rule}; ` +
      `${found.fix} (read models keep documents as JSON).`,
  );
};

/**
 * Refuses a document that a store would not keep as it is: not a plain object, a value its JSON
 * would change (a Date, NaN, a Map…), or a key or text not every store keeps alike. What the
 * projection engine checks at every `put`, so the event that put it is dead-lettered; only a
 * refusal builds a message.
 */
export const refuseUnkeepableDocument = (
  projection: string,
  collection: string,
  key: string,
  document: unknown,
): void => {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new TypeError(
      `Projection "${projection}" put a document at ${collection}/${key} that is not an object; put plain objects.`,
    );
  }
  refuseUnkeepableKey(projection, collection, key);
  const found = jsonProblem(document, { texts: true });
  if (found) throw documentProblemError(projection, collection, key, found);
};

/**
 * Key order: by code point, as SQLite compares text by default and PostgreSQL under
 * `COLLATE "C"` (both compare UTF-8 bytes). JavaScript's `<` compares UTF-16 code units instead,
 * which puts U+E000–U+FFFF after every character above U+FFFF; a store ordering keys in
 * JavaScript sorts with this, so pages and prefixes read alike from every store.
 */
export const compareKeys = (a: string, b: string): number => {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Where they first differ, a surrogate starts a character above U+FFFF (or both are the
      // second halves of one, which compare as code units do): it goes after U+E000–U+FFFF.
      return orderOfUnit(x) - orderOfUnit(y);
    }
  }
  return a.length - b.length;
};

/** A UTF-16 code unit's place in code point order: surrogates moved above U+FFFF. */
const orderOfUnit = (unit: number): number =>
  unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800;

/** The highest code point; the one after U+D7FF is U+E000 (code points between are surrogates). */
const maxCodePoint = 0x10ffff;

/**
 * The smallest text above every key that starts with `prefix`, in code point order (how SQLite
 * compares text by default and PostgreSQL under `COLLATE "C"`, both comparing UTF-8 bytes): the
 * prefix with its last code point raised by one. So `key >= prefix AND key < bound` reads the
 * keys with the prefix through the key's index. Undefined when there is no such text (the prefix
 * is all U+10FFFF) or the prefix holds a lone surrogate, which UTF-8 cannot hold: read from
 * `prefix` on and keep the keys that start with it.
 */
export const keyPrefixBound = (prefix: string): string | undefined => {
  const points = Array.from(prefix, (char) => char.codePointAt(0) as number);
  if (points.some((point) => point >= 0xd800 && point <= 0xdfff)) return undefined;
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last < maxCodePoint) {
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
};

/** What a store writes for one change: the document's JSON text (`documentJson`), or null for a delete, its key checked too. */
export const changeJson = (projection: string, change: DocumentChange): string | null => {
  if (change.document !== null)
    return documentJson(projection, change.collection, change.key, change.document);
  refuseUnkeepableKey(projection, change.collection, change.key);
  return null;
};

/** A lease's time to live, checked: a finite number of milliseconds above 0. */
export const checkLeaseTtl = (ttlMs: number): number => {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new TypeError(`A lease's ttlMs must be a number of milliseconds above 0; got ${String(ttlMs)}.`);
  }
  return ttlMs;
};

/** The longest name of a lease's owner. */
const maxOwnerLength = 200;

/**
 * A lease owner's name, checked: text of 1 to 200 characters that every store keeps as it is
 * (no U+0000, no half of a surrogate pair), e.g. `${hostname}-${pid}`.
 */
export const checkLeaseOwner = (owner: string): string => {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > maxOwnerLength) {
    throw new TypeError(
      `A lease's owner must be a name of 1 to ${maxOwnerLength} characters, unique among the instances (e.g. \`\${hostname}-\${pid}\`); got ${JSON.stringify(owner)}.`,
    );
  }
  const rule = unkeepableTextRule(owner);
  if (rule !== undefined) {
    throw new TypeError(`A lease's owner ${JSON.stringify(owner)} ${rule}; ${unkeepableTextFix}.`);
  }
  return owner;
};

/** A projection's version in a commit or a reset: the projection's own, a whole number of 1 or more. */
export const checkProjectionVersion = (projection: string, version: number): void => {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new TypeError(
      `Projection "${projection}": a read model's version must be the projection's, a whole number of 1 or more; got ${String(version)}.`,
    );
  }
};

/**
 * Checks a commit's batches before a store writes anything: one batch per projection, each named
 * rightly, at a version of 1 or more, from its checkpoint (`after`) to a position not before it.
 * A TypeError says what to give.
 */
export const checkBatches = (batches: readonly ProjectionBatch[]): void => {
  const seen = new Set<string>();
  for (const batch of batches) {
    const { projection, version, after, position } = batch;
    checkReadModelName('projection', projection);
    if (seen.has(projection)) {
      throw new TypeError(
        `Projection "${projection}" has two batches in one commit; give each projection one batch.`,
      );
    }
    seen.add(projection);
    checkProjectionVersion(projection, version);
    if (typeof after !== 'bigint' || typeof position !== 'bigint' || after < 0n || position < after) {
      throw new TypeError(
        `Projection "${projection}": a batch runs from its checkpoint (after) to its last event's position (position), ` +
          `bigints with position not before after; got after ${String(after)}, position ${String(position)}.`,
      );
    }
  }
};
