import { RuleViolationError } from '../errors/errors.js';
import { childRef as childRefSchema } from '../events/common.js';

/**
 * The key store port: one data key per child, made on first use, which seals that child's
 * protected fields. Deleting it (crypto-shredding) leaves every sealed copy of the child's
 * protected data unreadable, wherever it was copied; a tombstone remembers that the child was
 * erased, so that their data reads back as `erased` rather than `no-key` and no new protected
 * data is sealed for them.
 *
 * Implementations: `createMemoryKeyStore` (`@lantern/adapters/memory`), `createSqliteKeyStore`
 * (`@lantern/adapters/sqlite`, by default in the event store's file) and `createEnvelopeKeyStore`
 * (data keys kept wrapped by an external KMS's master key).
 */

/** What a key store holds for a child. */
export type DataKeyLookup =
  /** The child's data key: a copy the caller may (and should) zero once done with it. */
  | { readonly status: 'active'; readonly key: Uint8Array }
  /** The child's data was erased; their key is gone for good. */
  | { readonly status: 'erased'; readonly erasedAt: string }
  /** No key was ever made for the child (or the store that held it is not this one). */
  | { readonly status: 'missing' };

export interface KeyStore {
  /** `memory`, `sqlite`, `envelope`…: where the keys live. */
  readonly kind: string;
  /**
   * The child's data key, made and stored on first use (the first writer wins when two race):
   * a copy the caller should zero once done with it. `create` makes what is stored for a new
   * child; default 32 random bytes (the envelope key store stores wrapped keys this way). Throws
   * a RuleViolationError when the child was erased (their pseudonym is never reused), and a
   * KeyStoreError when the store cannot be used.
   */
  getOrCreate(childRef: string, create?: () => Uint8Array | Promise<Uint8Array>): Promise<Uint8Array>;
  /** What the store holds for the child. Throws KeyStoreError when the store cannot be used. */
  get(childRef: string): Promise<DataKeyLookup>;
  /**
   * Shreds the child's data key and records that the child was erased, at `erasedAt` (ISO-8601;
   * default now). Idempotent: erasing again keeps the first time. Resolves once no copy of the
   * key is left in the store's files (see each implementation); throws KeyStoreError otherwise,
   * and may then be called again.
   */
  delete(childRef: string, erasedAt?: string): Promise<void>;
  /** Releases the store's resources (zeroing keys held in memory). */
  close(): Promise<void>;
}

/** Throws TypeError unless `childRef` is a child pseudonym; returns it. */
export const requireChildRef = (childRef: unknown, what: string): string => {
  if (!childRefSchema.safeParse(childRef).success) {
    throw new TypeError(
      `${what} needs a child pseudonym such as ch_3f9a1c0b7e2d4a61 (never a name); got ${JSON.stringify(childRef)}.`,
    );
  }
  return childRef as string;
};

/** The error a key store throws when asked for a key for a child whose data was erased. */
export const childErasedError = (childRef: string, erasedAt: string): RuleViolationError =>
  new RuleViolationError(
    'child-erased',
    `Child ${childRef}'s data was erased on ${erasedAt}; no protected data is ever sealed for them again. ` +
      'Register the child under a new pseudonym if the programme works with them again.',
  );
