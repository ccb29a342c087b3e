import { createHmac, randomBytes } from 'node:crypto';
import { type PseudonymKind, pseudonymPrefixes } from '../events/common.js';

/**
 * Pseudonyms stand for people in every event: `ch_…` for a child, `hh_…` a household,
 * `st_…` a staff member, `dn_…` a donor, `ag_…` a partner agency.
 */

/** A fresh random pseudonym (80 random bits), e.g. `ch_3f9a1c0b7e2d4a61b2c9`. */
export const mintPseudonym = (kind: PseudonymKind): string =>
  `${pseudonymPrefixes[kind]}_${randomBytes(10).toString('hex')}`;

/**
 * A pseudonym derived from a local reference (a case-file number kept on paper) with a keyed
 * HMAC-SHA256 under the programme's secret: the same reference always gives the same
 * pseudonym, and without the secret the reference cannot be recovered or guessed.
 */
export const derivePseudonym = (
  kind: PseudonymKind,
  localReference: string,
  programmeSecret: string | Uint8Array,
): string => {
  if (localReference.trim() === '') {
    throw new TypeError('derivePseudonym needs a non-empty local reference.');
  }
  if (programmeSecret.length < 16) {
    throw new TypeError(
      'derivePseudonym needs a programme secret of at least 16 bytes; generate one with crypto.randomBytes(32).',
    );
  }
  const digest = createHmac('sha256', programmeSecret).update(`${kind}\u0000${localReference}`).digest('hex');
  return `${pseudonymPrefixes[kind]}_${digest.slice(0, 20)}`;
};
