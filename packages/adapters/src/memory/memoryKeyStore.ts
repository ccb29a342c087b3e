import {
  childErasedError,
  createDataKey,
  type DataKeyLookup,
  type KeyStore,
  KeyStoreError,
  requireChildRef,
} from '@lantern/core';

export interface MemoryKeyStoreOptions {
  /** The clock for tombstones when `delete` is given no time. Default: `() => new Date()`. */
  now?: () => Date;
}

const copy = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes);

/**
 * Children's data keys in this process's memory: for tests and demos, gone (with every sealed
 * value they could open) when the process exits. Deleting a key zeroes its bytes.
 */
export const createMemoryKeyStore = (options: MemoryKeyStoreOptions = {}): KeyStore => {
  const now = options.now ?? (() => new Date());
  const keys = new Map<string, Uint8Array>();
  const erased = new Map<string, string>();
  let closed = false;

  const requireOpen = (): void => {
    if (closed)
      throw new KeyStoreError(
        'This memory key store is closed. Create a new one with createMemoryKeyStore().',
      );
  };

  return {
    kind: 'memory',
    getOrCreate: async (childRef, create) => {
      requireOpen();
      requireChildRef(childRef, 'A key store');
      const erasedAt = erased.get(childRef);
      if (erasedAt !== undefined) throw childErasedError(childRef, erasedAt);
      const held = keys.get(childRef);
      if (held) return copy(held);
      const made = create ? await create() : createDataKey();
      if (!(made instanceof Uint8Array) || made.length === 0) {
        throw new KeyStoreError(
          `The key made for ${childRef} is not bytes; create must return a Uint8Array.`,
        );
      }
      requireOpen();
      // Another caller may have made one, or erased the child, while create ran: theirs stands.
      const erasedMeanwhile = erased.get(childRef);
      if (erasedMeanwhile !== undefined) throw childErasedError(childRef, erasedMeanwhile);
      const first = keys.get(childRef);
      if (first) return copy(first);
      keys.set(childRef, copy(made));
      return copy(made);
    },
    get: async (childRef): Promise<DataKeyLookup> => {
      requireOpen();
      requireChildRef(childRef, 'A key store');
      const erasedAt = erased.get(childRef);
      if (erasedAt !== undefined) return { status: 'erased', erasedAt };
      const held = keys.get(childRef);
      return held ? { status: 'active', key: copy(held) } : { status: 'missing' };
    },
    delete: async (childRef, erasedAt) => {
      requireOpen();
      requireChildRef(childRef, 'A key store');
      keys.get(childRef)?.fill(0);
      keys.delete(childRef);
      if (!erased.has(childRef)) erased.set(childRef, erasedAt ?? now().toISOString());
    },
    close: async () => {
      for (const key of keys.values()) key.fill(0);
      keys.clear();
      closed = true;
    },
  };
};
