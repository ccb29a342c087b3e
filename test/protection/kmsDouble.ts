import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyManagementService } from '@lantern/core';

/**
 * A key management service DOUBLE for tests: a master key held in this process, wrapping with
 * AES-256-GCM bound to the childRef, as a real KMS binds its encryption context. It encodes our
 * model of a KMS, not a KMS: a real one keeps the master key on its own hardware.
 */
export interface KmsDouble extends KeyManagementService {
  /** Make every call fail, as an unreachable service would. */
  reachable: boolean;
  /** How many wrap and unwrap calls were made. */
  readonly calls: { wrap: number; unwrap: number };
}

export const createKmsDouble = (): KmsDouble => {
  const master = randomBytes(32);
  const calls = { wrap: 0, unwrap: 0 };
  const double: KmsDouble = {
    reachable: true,
    calls,
    wrap: async (dataKey, { childRef }) => {
      calls.wrap += 1;
      if (!double.reachable) throw new Error('connect ECONNREFUSED kms.double.invalid:443');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', master, iv);
      cipher.setAAD(Buffer.from(childRef));
      const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ct]);
    },
    unwrap: async (wrapped, { childRef }) => {
      calls.unwrap += 1;
      if (!double.reachable) throw new Error('connect ECONNREFUSED kms.double.invalid:443');
      const bytes = Buffer.from(wrapped);
      const decipher = createDecipheriv('aes-256-gcm', master, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(childRef));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    },
  };
  return double;
};
