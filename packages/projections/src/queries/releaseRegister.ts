import { isLeaseLostError, type ReadModelStore, StoreError } from '@lantern/core';
import { releaseRegisterName } from '../engine/projection.js';

/**
 * The register of what went outside the programme from a read-model store, kept in that store:
 * which protection each indicator's figures went out with, which table each count's figures went
 * out from, and whether the case funnel or the indicators about cases went out. The guards that
 * read it refuse a release that would put the same figures out protected apart. Without it they
 * see only the releases made from the same loaded data (or store handle) in one process; with it,
 * a report made by another process, or from another handle on the same file, binds too.
 *
 * It is kept as the documents of a read model no engine runs, `release_register` (table
 * `release_register__claims`), one document per claim, so every store keeps it as it keeps
 * read models, and a commit of new claims fails when another writer got in first (its
 * checkpoint counts the register's writes). No projection may be named `release_register`.
 */

export { releaseRegisterName };

const claimsCollection = 'claims';

/** A claim's document: its value, and when it was made. */
type ClaimDocument = {
  readonly value: string;
  readonly claimedAt: string;
};

/** The register as read: its claims by key, and how many writes it has had. */
export interface ReleaseRegister {
  readonly claims: ReadonlyMap<string, string>;
  readonly writes: bigint;
}

/** Reads the register of `readModels`, making its table the first time. */
export const readReleaseRegister = async (readModels: ReadModelStore): Promise<ReleaseRegister> => {
  await readModels.prepare(releaseRegisterName, [claimsCollection]);
  // The count of writes first: a write landing between the two reads then makes the next write
  // from this read fail and read again, rather than pass on claims it never saw.
  const checkpoint = await readModels.checkpoint(releaseRegisterName);
  const rows = await readModels.documents(releaseRegisterName, claimsCollection);
  const claims = new Map<string, string>();
  for (const row of rows) {
    const value = (row.document as Partial<ClaimDocument>).value;
    if (typeof value === 'string') claims.set(row.key, value);
  }
  return { claims, writes: checkpoint?.position ?? 0n };
};

/** How often a claim is tried again when another writer changed the register meanwhile. */
export const claimAttempts = 5;

/** The refusal when the register kept changing under a claim. */
export const registerBusy = (): StoreError =>
  new StoreError(
    `The register of releases in these read models kept changing while a release was recorded (${claimAttempts} ` +
      'tries): other processes are releasing from them. Try again.',
  );

/**
 * Adds claims to the register read as `register`; false, writing nothing, when another writer
 * changed it since (read it again and check again). A key already claimed keeps its value.
 */
export const writeClaims = async (
  readModels: ReadModelStore,
  register: ReleaseRegister,
  claims: ReadonlyMap<string, string>,
): Promise<boolean> => {
  const claimedAt = new Date().toISOString();
  const changes = [...claims]
    .filter(([key]) => !register.claims.has(key))
    .map(([key, value]) => {
      const document: ClaimDocument = { value, claimedAt };
      return { collection: claimsCollection, key, document };
    });
  if (changes.length === 0) return true;
  try {
    await readModels.commit([
      {
        projection: releaseRegisterName,
        version: 1,
        after: register.writes,
        position: register.writes + 1n,
        changes,
        deadLetters: [],
      },
    ]);
    return true;
  } catch (error) {
    if (isLeaseLostError(error)) return false;
    throw error;
  }
};
