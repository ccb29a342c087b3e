import { KeyStoreError } from '../errors/errors.js';
import { type DataKeyLookup, type KeyStore, requireChildRef } from './keyStore.js';
import { createDataKey, dataKeyLength } from './sealing.js';

/**
 * An external key management service (AWS KMS, Google Cloud KMS, Azure Key Vault, HashiCorp
 * Vault's transit engine…) holding a master key that never leaves it. Lantern asks it to wrap each
 * new data key and to unwrap stored ones; an adapter of a few lines maps these two calls to the
 * service's encrypt/decrypt with the context as its encryption context (or AAD).
 */
export interface KeyManagementService {
  /** Encrypts a data key under the master key, bound to `context`. */
  wrap(dataKey: Uint8Array, context: { readonly childRef: string }): Promise<Uint8Array>;
  /** Decrypts a wrapped data key; must fail unless `context` is the one it was wrapped with. */
  unwrap(wrappedKey: Uint8Array, context: { readonly childRef: string }): Promise<Uint8Array>;
}

export interface EnvelopeKeyStoreOptions {
  /** The service that wraps and unwraps data keys. Required. */
  kms: KeyManagementService;
  /**
   * Where the wrapped keys and tombstones are kept: a memory or SQLite key store. It never holds
   * a data key in the clear, only what `kms.wrap` returned. Required.
   */
  store: KeyStore;
}

const failure = (doing: string, error: unknown): KeyStoreError =>
  new KeyStoreError(
    `The key management service failed while ${doing} (${error instanceof Error ? error.message : String(error)}). ` +
      'Check that it is reachable and that this process may use its master key, then retry; nothing was sealed or opened meanwhile.',
    { cause: error },
  );

/**
 * Envelope encryption: each child's data key is made here, wrapped by the KMS's master key and
 * stored wrapped in `store`; reading a key unwraps it. Erasing a child deletes the wrapped key
 * (and the KMS can no longer help anyone open it). Anyone who copies `store`'s file gets only
 * wrapped keys, useless without the KMS.
 */
export const createEnvelopeKeyStore = (options: EnvelopeKeyStoreOptions): KeyStore => {
  const { kms, store } = options ?? ({} as EnvelopeKeyStoreOptions);
  if (typeof kms?.wrap !== 'function' || typeof kms.unwrap !== 'function') {
    throw new TypeError(
      'createEnvelopeKeyStore needs kms, an object with wrap(dataKey, context) and unwrap(wrappedKey, context).',
    );
  }
  if (typeof store?.getOrCreate !== 'function') {
    throw new TypeError(
      'createEnvelopeKeyStore needs store, the key store that keeps the wrapped keys (memory or SQLite).',
    );
  }

  const unwrap = async (childRef: string, wrapped: Uint8Array): Promise<Uint8Array> => {
    let key: Uint8Array;
    try {
      key = await kms.unwrap(wrapped, { childRef });
    } catch (error) {
      throw failure(`unwrapping the data key of ${childRef}`, error);
    }
    if (!(key instanceof Uint8Array) || key.length !== dataKeyLength) {
      throw new KeyStoreError(
        `The key management service unwrapped ${childRef}'s data key to something that is not a ${dataKeyLength}-byte key; check the KMS adapter.`,
      );
    }
    return key;
  };

  return {
    kind: 'envelope',
    getOrCreate: async (childRef, create) => {
      requireChildRef(childRef, 'A key store');
      if (create !== undefined) {
        throw new TypeError(
          'An envelope key store makes its own data keys; call getOrCreate(childRef) without create.',
        );
      }
      const wrapped = await store.getOrCreate(childRef, async () => {
        const key = createDataKey();
        try {
          return await kms.wrap(key, { childRef });
        } catch (error) {
          throw failure(`wrapping a new data key for ${childRef}`, error);
        } finally {
          key.fill(0);
        }
      });
      // The stored key, which may be another writer's if two raced: unwrap what was kept.
      return unwrap(childRef, wrapped);
    },
    get: async (childRef): Promise<DataKeyLookup> => {
      const lookup = await store.get(childRef);
      if (lookup.status !== 'active') return lookup;
      return { status: 'active', key: await unwrap(childRef, lookup.key) };
    },
    delete: (childRef, erasedAt) => store.delete(childRef, erasedAt),
    /** Closes `store` too. */
    close: () => store.close(),
  };
};
