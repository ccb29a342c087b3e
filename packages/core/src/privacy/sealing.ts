import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SealedField } from './protectedFields.js';

/**
 * AES-256-GCM sealing of protected fields. Each value gets a fresh random 96-bit iv, and its
 * additional authenticated data names the event (id and type) and the field, so a sealed value
 * copied into another event or another field fails to open instead of being read there.
 */

/** The length of a child's data key: 32 bytes, for AES-256. */
export const dataKeyLength = 32;

/** A fresh random data key. */
export const createDataKey = (): Buffer => randomBytes(dataKeyLength);

/** Where a sealed value belongs: it opens only there. */
export interface SealingContext {
  /** The event's id (a uuid; compared in lowercase, as stores keep it). */
  readonly eventId: string;
  readonly eventType: string;
  readonly field: string;
}

const aadOf = (context: SealingContext): Buffer =>
  Buffer.from(
    `lantern/protected-field/v1\u0000${context.eventId.toLowerCase()}\u0000${context.eventType}\u0000${context.field}`,
    'utf8',
  );

const checkKey = (key: Uint8Array): void => {
  if (!(key instanceof Uint8Array) || key.length !== dataKeyLength) {
    throw new TypeError(
      `A data key is ${dataKeyLength} bytes; got ${key instanceof Uint8Array ? key.length : typeof key}.`,
    );
  }
};

/** Seals a protected field's plaintext under a child's data key, for one event and field. */
export const sealText = (key: Uint8Array, plaintext: string, context: SealingContext): SealedField => {
  checkKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aadOf(context));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: 'A256GCM',
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    ct: ct.toString('base64url'),
  };
};

/**
 * Opens a sealed field. Throws when it does not authenticate: a wrong key, an altered iv, tag or
 * ciphertext, or a value sealed for another event or field.
 */
export const openText = (key: Uint8Array, sealed: SealedField, context: SealingContext): string => {
  checkKey(key);
  if (sealed.alg !== 'A256GCM') throw new TypeError(`Cannot open a value sealed with ${String(sealed.alg)}.`);
  const iv = Buffer.from(sealed.iv, 'base64url');
  const tag = Buffer.from(sealed.tag, 'base64url');
  if (iv.length !== 12 || tag.length !== 16)
    throw new TypeError('A sealed value needs a 12-byte iv and a 16-byte tag.');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  decipher.setAAD(aadOf(context));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64url')), decipher.final()]).toString(
    'utf8',
  );
};
