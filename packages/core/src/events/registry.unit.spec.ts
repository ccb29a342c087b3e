import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../errors/errors.js';
import { defineEvent } from './defineEvent.js';
import { createEventRegistry } from './registry.js';
import { schemaOutputsJson } from './schemaKeepsInput.js';

const Lit = defineEvent({ type: 'LampLit', schema: z.strictObject({ lampId: z.string() }) });
const registry = createEventRegistry([Lit]);
const metadata = {
  occurredAt: '2020-06-01T19:00:00+07:00',
  recordedBy: 'st_00000000000000a1',
  schemaVersion: 1,
};
const event = (id: string, data: unknown = { lampId: 'a' }) => ({ id, type: 'LampLit', data, metadata });
const idA = '0192f5c4-1c2e-7b4a-9d3e-5f6a7b8c9d0e';
const idB = '0192f5c4-1c2e-7b4a-9d3e-5f6a7b8c9d0f';

describe('event registry', () => {
  it('accepts a valid batch', () => {
    expect(registry.validateBatch([event(idA), event(idB)])).toHaveLength(2);
  });

  it("gives each event's metadata and data as JSON.stringify writes them, by its own writers or by zod", () => {
    class Meta {
      occurredAt = metadata.occurredAt;
      recordedBy = metadata.recordedBy;
      schemaVersion = 1;
    }
    const texts = { metadata: [] as string[], data: [] as string[] };
    const valid = registry.validateBatch(
      [event(idA, { lampId: 'say "hi"\\' }), { ...event(idB), metadata: new Meta() }],
      undefined,
      texts,
    );
    expect(texts.metadata).toEqual(valid.map((each) => JSON.stringify(each.metadata)));
    expect(texts.metadata[1]).toBe(JSON.stringify(metadata));
    expect(texts.data).toEqual(['{"lampId":"say \\"hi\\"\\\\"}', '{"lampId":"a"}']);
  });

  it('refuses an unknown type, naming it', () => {
    expect(() => registry.validateBatch([{ ...event(idA), type: 'LampSmashed' }])).toThrow(
      /LampSmashed.*unknown event type/,
    );
  });

  it('refuses an empty batch', () => {
    expect(() => registry.validateBatch([])).toThrow(/at least one event/);
  });

  it('refuses a batch that repeats an event id', () => {
    expect(() => registry.validateBatch([event(idA), event(idA)])).toThrow(/appears twice/);
  });

  it('gives ids back in lowercase, and takes two spellings of one id for a repeat', () => {
    expect(registry.validateBatch([event(idA.toUpperCase())]).map((valid) => valid.id)).toEqual([idA]);
    expect(() => registry.validateBatch([event(idA), event(idA.toUpperCase())])).toThrow(/appears twice/);
  });

  it('refuses an id that is not a uuid, and metadata without an offset', () => {
    expect(() => registry.validateBatch([event('1')])).toThrow(ValidationError);
    expect(() =>
      registry.validateBatch([
        { ...event(idA), metadata: { ...metadata, occurredAt: '2020-06-01T19:00:00' } },
      ]),
    ).toThrow(/metadata\.occurredAt/);
  });

  it('refuses a staff name where the recorder pseudonym belongs', () => {
    expect(() =>
      registry.validateBatch([{ ...event(idA), metadata: { ...metadata, recordedBy: 'Sokha' } }]),
    ).toThrow(/metadata\.recordedBy/);
  });

  it('refuses metadata fields it does not know', () => {
    expect(() =>
      registry.validateBatch([
        { ...event(idA), metadata: { ...metadata, note: 'child is Lisa' } as typeof metadata },
      ]),
    ).toThrow(ValidationError);
  });

  it('refuses a schema version newer than this build reads', () => {
    expect(() =>
      registry.validateBatch([{ ...event(idA), metadata: { ...metadata, schemaVersion: 2 } }]),
    ).toThrow(/upgrade Lantern/);
  });

  it('refuses a type defined twice', () => {
    expect(() => createEventRegistry([Lit, Lit])).toThrow(/defined twice/);
  });

  it('validates on read and names the failing field', () => {
    const stored = {
      ...event(idA, { lampId: 7 }),
      streamId: 'lamp-a',
      revision: 0n,
      position: 1n,
      recordedAt: '2020-06-01T12:00:00.000Z',
    };
    expect(() => registry.readRecorded(stored)).toThrow(/LampLit.*data\.lampId/);
  });
});

describe('defineEvent', () => {
  it('refuses a name that is not PascalCase', () => {
    expect(() => defineEvent({ type: 'lamp_lit', schema: z.object({}) })).toThrow(/PascalCase/);
  });

  it('refuses upcasters that skip a version', () => {
    expect(() =>
      defineEvent({
        type: 'LampLit',
        schemaVersion: 3,
        schema: z.object({}),
        upcasters: [{ fromVersion: 1, schema: z.object({}), up: (d: object) => d }],
      }),
    ).toThrow(/every version/);
  });

  it('creates events ready to append with a uuid and the schema version', () => {
    const created = Lit.toNew(
      { lampId: 'x' },
      { occurredAt: metadata.occurredAt, recordedBy: metadata.recordedBy },
    );
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.schemaVersion).toBe(1);
    expect(Lit.is(created)).toBe(true);
  });
});

describe('values built as JSON (validateBatch flags)', () => {
  class Lamp {
    lampId = 'a';
    toJSON() {
      return { lampId: 'changed by toJSON' };
    }
  }

  it('returns a fresh plain copy of current-version data whose schema outputs JSON, and flags it', () => {
    const flags: boolean[] = [];
    const sent = { lampId: 'a' };
    const [valid] = registry.validateBatch([event(idA, sent)], flags);
    expect(flags).toEqual([true]);
    expect(valid?.data).toEqual(sent);
    expect(valid?.data).not.toBe(sent);
    expect(JSON.parse(JSON.stringify(valid?.data))).toEqual(sent);
  });

  it('writes what the schema accepted, not what a toJSON of the input would say', () => {
    const flags: boolean[] = [];
    const [valid] = registry.validateBatch([event(idA, new Lamp())], flags);
    expect(flags).toEqual([true]);
    expect(JSON.stringify(valid?.data)).toBe('{"lampId":"a"}');
  });

  it('flags false, and returns the data as sent, when the schema may change or pass through values', () => {
    const Loose = defineEvent({ type: 'LampNoted', schema: z.strictObject({ note: z.unknown() }) });
    const Trimmed = defineEvent({ type: 'LampNamed', schema: z.strictObject({ name: z.string().trim() }) });
    const mixed = createEventRegistry([Loose, Trimmed]);
    const flags: boolean[] = [];
    const loose = { note: { seen: ['2020-06-01'], by: null } };
    const trimmed = { name: ' a ' };
    const valid = mixed.validateBatch(
      [
        { ...event(idA), type: 'LampNoted', data: loose },
        { ...event(idB), type: 'LampNamed', data: trimmed },
      ],
      flags,
    );
    expect(flags).toEqual([false, false]);
    expect(valid.map((v) => v.data)).toEqual([loose, trimmed]);
    expect(valid[0]?.data).toBe(loose);
  });

  it('refuses data stored as sent that its JSON would not give back, naming the field', () => {
    const Loose = defineEvent({ type: 'LampNoted', schema: z.strictObject({ note: z.unknown() }) });
    const loose = createEventRegistry([Loose]);
    const noted = (note: unknown) => ({ ...event(idA), type: 'LampNoted', data: { note } });
    const refusal = (note: unknown): ValidationError => {
      try {
        // With texts asked for too, as a store asks: the refusal comes before any text is written.
        loose.validateBatch([noted(note)], [], { metadata: [], data: [] });
      } catch (error) {
        if (error instanceof ValidationError) return error;
        throw error;
      }
      throw new Error('accepted');
    };
    expect(refusal(new Date(0)).path).toBe('data.note');
    expect(refusal(new Date(0)).message).toMatch(/Date.*toISOString\(\).*nothing of this batch was stored/);
    expect(refusal(10n).message).toMatch(/BigInt, which JSON cannot hold.*use a number or text/);
    expect(refusal({ when: [1, Number.NaN] }).path).toBe('data.note.when.1');
    expect(refusal(new Map()).message).toMatch(/Map, which JSON keeps as \{\}/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(refusal(cycle).path).toBe('data.note.self');
    // An absent field and an undefined one read the same: JSON leaves it out, and that is allowed.
    expect(loose.validateBatch([noted(undefined)])).toHaveLength(1);
  });

  it('flags false for metadata only zod could check', () => {
    class Stamp {
      occurredAt = metadata.occurredAt;
      recordedBy = metadata.recordedBy;
      schemaVersion = 1;
    }
    const flags: boolean[] = [];
    // The fast check takes plain objects only; zod accepts a class instance with the right keys.
    const [valid] = registry.validateBatch([{ ...event(idA), metadata: new Stamp() }], flags);
    expect(flags).toEqual([false]);
    expect(valid?.metadata).toEqual(metadata);
  });
});

describe('schemaOutputsJson', () => {
  it('knows strict objects of strings, finite numbers, booleans, enums, arrays and optional properties', () => {
    expect(
      schemaOutputsJson(
        z.strictObject({
          name: z.string().min(1),
          count: z.number().int(),
          done: z.boolean(),
          kind: z.enum(['a', 'b']),
          tags: z.array(z.string()),
          note: z.string().optional(),
          parent: z.string().nullable(),
          either: z.union([z.literal('x'), z.literal(3)]),
        }),
      ),
    ).toBe(true);
  });

  it('cannot tell for anything that may change input, pass it through, or not survive JSON', () => {
    for (const schema of [
      z.object({ a: z.string() }),
      z.strictObject({ a: z.string().trim() }),
      z.strictObject({ a: z.unknown() }),
      z.strictObject({ a: z.any() }),
      z.strictObject({ a: z.record(z.string(), z.string()) }),
      z.strictObject({ a: z.array(z.string().optional()) }),
      z.strictObject({ a: z.date() }),
      z.strictObject({ a: z.string().default('x') }),
      z.strictObject({ a: z.literal(undefined) }),
      z.strictObject({ a: z.bigint() }),
    ]) {
      expect(schemaOutputsJson(schema)).toBe(false);
    }
  });
});
