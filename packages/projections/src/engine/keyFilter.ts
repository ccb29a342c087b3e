/**
 * A Bloom filter of document keys: "maybe stored" or "surely not". It never forgets a key it was
 * given (no false negatives) and says "maybe" for about 1% of the others while it holds no more
 * than its capacity, in 10 bits a key.
 */
export interface KeyFilter {
  /** How many distinct keys it holds before its false positives grow: time to build a bigger one. */
  readonly capacity: number;
  /** Keys added that it did not already hold (a key it wrongly held is not counted). */
  readonly added: number;
  /** True when the key may have been added; false when it surely was not. */
  mayHave(key: string): boolean;
  add(key: string): void;
}

const bitsPerKey = 10;
const hashes = 7;
/** The smallest filter: 1,024 keys in 1.25 KB. */
export const minimumKeyFilterCapacity = 1024;

/**
 * Two 32-bit FNV-1a hashes of the key's UTF-16 code units from different offset bases, the
 * second finished with a mix so that the two differ in every bit; the filter's probes are
 * `h1 + i × h2` (double hashing).
 */
const hashPair = (key: string): [number, number] => {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < key.length; i += 1) {
    const unit = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 0x01000193);
    h2 = Math.imul(h2 ^ unit, 0x01000193);
  }
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x85ebca6b);
  h2 ^= h2 >>> 13;
  // Odd, so that the probes never all land on one bit.
  return [h1 >>> 0, (h2 | 1) >>> 0];
};

export const createKeyFilter = (expectedKeys: number): KeyFilter => {
  const capacity = Math.max(minimumKeyFilterCapacity, Math.ceil(expectedKeys));
  const words = Math.ceil((capacity * bitsPerKey) / 32);
  const size = words * 32;
  const bits = new Uint32Array(words);
  let added = 0;
  return {
    capacity,
    get added() {
      return added;
    },
    mayHave: (key) => {
      const [h1, h2] = hashPair(key);
      for (let i = 0; i < hashes; i += 1) {
        const bit = (h1 + i * h2) % size;
        if (((bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
      }
      return true;
    },
    add: (key) => {
      const [h1, h2] = hashPair(key);
      let changed = false;
      for (let i = 0; i < hashes; i += 1) {
        const bit = (h1 + i * h2) % size;
        const word = bit >>> 5;
        const mask = 1 << (bit & 31);
        const before = bits[word] as number;
        if ((before & mask) === 0) {
          bits[word] = before | mask;
          changed = true;
        }
      }
      if (changed) added += 1;
    },
  };
};
