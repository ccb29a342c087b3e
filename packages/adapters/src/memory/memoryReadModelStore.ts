import {
  checkBatches,
  checkLeaseOwner,
  checkLeaseTtl,
  checkProjectionVersion,
  checkReadModelName,
  checkReadModelTableName,
  compareKeys,
  copyFields,
  type DeadLetter,
  deepFreeze,
  documentJson,
  documentsPageOf,
  isKeepableText,
  keyPrefixOf,
  type Lease,
  LeaseLostError,
  type ProjectionBatch,
  type ProjectionCheckpoint,
  type ReadModelDocument,
  type ReadModelStore,
  refuseUnkeepableKey,
  StoreError,
} from '@lantern/core';

export interface MemoryReadModelStoreOptions {
  /** The clock for checkpoints' `updatedAt` and lease expiry. Default: the system clock. */
  now?: () => Date;
}

/** A document as the store keeps it: a deeply frozen copy, made at commit. */
type Kept = unknown;

/** How deep a document may nest before it is copied through JSON text, which refuses a cycle. */
const deepestCopied = 64;

/**
 * A deeply frozen copy of a plain JSON value, or `undefined` where JSON text would not give it
 * back as it is (a Date, an undefined field, -0, NaN, a Map, a class instance, a cycle, very deep
 * nesting) or where a text is one the SQL stores would refuse (`isKeepableText`): those go
 * through `documentJson`, which says what is wrong. Walking the value once is cheaper than
 * writing and reading its JSON text.
 */
const frozenPlainCopy = (value: unknown, depth: number): Kept | undefined => {
  if (typeof value === 'string') return isKeepableText(value) ? value : undefined;
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0) ? value : undefined;
  if (typeof value !== 'object' || depth > deepestCopied) return undefined;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = frozenPlainCopy(value[i], depth + 1);
      if (item === undefined) return undefined;
      copy[i] = item;
    }
    return Object.freeze(copy);
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const copy = copyFields(value, (key, inner) =>
    isKeepableText(key) ? frozenPlainCopy(inner, depth + 1) : undefined,
  );
  return copy === undefined ? undefined : Object.freeze(copy);
};

/** A fresh, unfrozen copy of a kept value, for a reader to do with as it likes. */
const freshCopy = (value: Kept): unknown => {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = freshCopy(value[i]);
    return copy;
  }
  return copyFields(value, (_key, inner) => freshCopy(inner));
};

interface ProjectionData {
  checkpoint?: ProjectionCheckpoint;
  /**
   * Documents as kept at commit: frozen copies, so nothing the caller changes afterwards changes
   * them. Reads hand out fresh copies.
   */
  collections: Map<string, Map<string, Kept>>;
  deadLetters: DeadLetter[];
  lease?: Lease;
  /** Tokens handed out so far, so a new lease always outranks every older one. */
  tokens: number;
}

/**
 * Read models in this process's memory, for tests and for apps that rebuild on start. Every
 * commit is all-or-nothing: it is checked in full before anything changes.
 */
export const createMemoryReadModelStore = (options: MemoryReadModelStoreOptions = {}): ReadModelStore => {
  const now = options.now ?? (() => new Date());
  const projections = new Map<string, ProjectionData>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new StoreError('This read-model store is closed; create a new one.');
  };

  const dataOf = (projection: string): ProjectionData => {
    let data = projections.get(projection);
    if (!data) {
      // Only a new name is checked: one held was checked when it was added.
      checkReadModelName('projection', projection);
      data = { collections: new Map(), deadLetters: [], tokens: 0 };
      projections.set(projection, data);
    }
    return data;
  };

  const collectionOf = (data: ProjectionData, projection: string, collection: string) => {
    // A collection held was named rightly when it was prepared: only a miss checks the name.
    const documents = data.collections.get(collection);
    if (!documents) {
      checkReadModelName('collection', collection);
      throw new StoreError(
        `Projection "${projection}" has no collection "${collection}"; list it in the projection's collections.`,
      );
    }
    return documents;
  };

  const leaseHolds = (data: ProjectionData, lease: Lease): boolean =>
    data.lease?.token === lease.token &&
    data.lease.owner === lease.owner &&
    data.lease.expiresAt > now().getTime();

  /**
   * What is kept of a document: what an SQL store would give back from its JSON text, frozen, so
   * that the caller cannot change it afterwards. Plain JSON (what the engine puts) is copied
   * directly; anything else goes through JSON text, as it would in an SQL store.
   */
  const stored = (projection: string, collection: string, key: string, document: ReadModelDocument): Kept => {
    const plain =
      typeof document === 'object' && document !== null && !Array.isArray(document)
        ? frozenPlainCopy(document, 0)
        : undefined;
    return plain ?? deepFreeze(JSON.parse(documentJson(projection, collection, key, document)));
  };
  const parsed = (kept: Kept): ReadModelDocument => freshCopy(kept) as ReadModelDocument;

  return {
    kind: 'memory',
    // A key it does not hold costs one Map lookup, no more than the engine's filter would.
    missesAreCheap: true,

    prepare: async (projection, collections) => {
      ensureOpen();
      const data = dataOf(projection);
      for (const collection of collections) {
        // As the SQL stores would name its table: a projection that runs here runs there too.
        checkReadModelTableName(projection, collection);
        if (!data.collections.has(collection)) data.collections.set(collection, new Map());
      }
    },

    checkpoint: async (projection) => {
      ensureOpen();
      return dataOf(projection).checkpoint;
    },

    commit: async (batches) => {
      ensureOpen();
      checkBatches(batches);
      // Checked in full first: a refused commit leaves every projection as it was.
      for (const batch of batches) {
        const data = dataOf(batch.projection);
        const at = data.checkpoint?.position ?? 0n;
        if (at !== batch.after) {
          throw new LeaseLostError(
            batch.projection,
            `its checkpoint is at ${at}, not at ${batch.after} where this batch starts`,
          );
        }
        if (batch.lease && !leaseHolds(data, batch.lease)) {
          throw new LeaseLostError(batch.projection, 'its lease expired or was taken over');
        }
        for (const change of batch.changes) collectionOf(data, batch.projection, change.collection);
      }
      const prepared = batches.map((batch: ProjectionBatch) => ({
        batch,
        documents: batch.changes.map((change) => {
          refuseUnkeepableKey(batch.projection, change.collection, change.key);
          return change.document === null
            ? null
            : stored(batch.projection, change.collection, change.key, change.document);
        }),
      }));
      const updatedAt = now().toISOString();
      for (const { batch, documents } of prepared) {
        const data = dataOf(batch.projection);
        batch.changes.forEach((change, i) => {
          const collection = collectionOf(data, batch.projection, change.collection);
          const document = documents[i];
          if (document !== null) collection.set(change.key, document);
          else collection.delete(change.key);
        });
        data.deadLetters.push(...(batch.deadLetters ?? []));
        data.checkpoint = {
          projection: batch.projection,
          version: batch.version,
          position: batch.position,
          status: batch.failure === undefined ? 'active' : 'failed',
          ...(batch.failure === undefined ? {} : { error: batch.failure }),
          updatedAt,
        };
      }
    },

    reset: async (projection, version, collections, lease) => {
      ensureOpen();
      checkProjectionVersion(projection, version);
      const data = dataOf(projection);
      if (lease && !leaseHolds(data, lease)) {
        throw new LeaseLostError(projection, 'its lease expired or was taken over');
      }
      for (const collection of collections) checkReadModelTableName(projection, collection);
      data.collections = new Map(collections.map((collection) => [collection, new Map()]));
      data.checkpoint = {
        projection,
        version,
        position: 0n,
        status: 'active',
        updatedAt: now().toISOString(),
      };
    },

    getDocument: async (projection, collection, key) => {
      ensureOpen();
      const data = dataOf(projection);
      const kept = collectionOf(data, projection, collection).get(key);
      return kept === undefined ? undefined : parsed(kept);
    },

    getDocumentNow: (projection, collection, key) => {
      ensureOpen();
      const kept = collectionOf(dataOf(projection), projection, collection).get(key);
      return kept === undefined ? undefined : parsed(kept);
    },

    keysNow: (projection, collection) => {
      ensureOpen();
      // A copy: a commit made while the caller iterates must not change what it reads.
      return [...collectionOf(dataOf(projection), projection, collection).keys()];
    },

    documents: async (projection, collection, query) => {
      ensureOpen();
      const prefix = keyPrefixOf(query);
      const { afterKey, limit } = documentsPageOf(query);
      const data = dataOf(projection);
      const entries = [...collectionOf(data, projection, collection)].filter(
        ([key]) =>
          (prefix === undefined || key.startsWith(prefix)) &&
          (afterKey === undefined || compareKeys(key, afterKey) > 0),
      );
      // By code point, as the SQL stores order keys: pages read alike from every store.
      return entries
        .sort(([a], [b]) => compareKeys(a, b))
        .slice(0, limit)
        .map(([key, kept]) => ({ key, document: parsed(kept) }));
    },

    deadLetters: async (projection) => {
      ensureOpen();
      return [...dataOf(projection).deadLetters];
    },

    acquireLease: async (projection, owner, ttlMs) => {
      ensureOpen();
      checkLeaseOwner(owner);
      checkLeaseTtl(ttlMs);
      const data = dataOf(projection);
      const at = now().getTime();
      const current = data.lease;
      if (current && current.owner !== owner && current.expiresAt > at) return undefined;
      if (current && current.owner === owner && current.expiresAt > at) {
        data.lease = { ...current, expiresAt: at + ttlMs };
        return data.lease;
      }
      data.tokens += 1;
      data.lease = { projection, owner, token: data.tokens, expiresAt: at + ttlMs };
      return data.lease;
    },

    renewLease: async (lease, ttlMs) => {
      ensureOpen();
      checkLeaseTtl(ttlMs);
      const data = dataOf(lease.projection);
      if (!leaseHolds(data, lease)) return undefined;
      data.lease = { ...lease, expiresAt: now().getTime() + ttlMs };
      return data.lease;
    },

    releaseLease: async (lease) => {
      ensureOpen();
      const data = dataOf(lease.projection);
      if (data.lease?.token === lease.token) delete data.lease;
    },

    close: async () => {
      closed = true;
    },
  };
};
