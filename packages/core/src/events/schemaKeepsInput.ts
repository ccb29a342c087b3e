/**
 * Whether a zod schema gives valid input back exactly as it was: no trim, default, transform or
 * stripped key anywhere. Stores use it to serve an event checked on append without running its
 * schema again on read. The walk reads zod's definition tree (`schema._zod.def`, zod's documented
 * internals for library authors); anything it does not recognise answers false, so such events
 * are always validated again.
 */

export interface ZodNode {
  readonly _zod: { readonly def: Readonly<Record<string, unknown>> };
}

export const isZod = (value: unknown): value is ZodNode =>
  typeof value === 'object' &&
  value !== null &&
  '_zod' in value &&
  typeof (value as { _zod?: { def?: unknown } })._zod?.def === 'object';

/** Definition types whose parse returns valid input unchanged (given identity-preserving children). */
const identityTypes = new Set([
  'string',
  'number',
  'boolean',
  'null',
  'enum',
  'literal',
  'array',
  'object',
  'optional',
  'nullable',
  'union',
  'record',
  'any',
  'unknown',
]);

export const schemaKeepsValidInput = (root: unknown): boolean => {
  const seen = new Set<object>();
  const check = (schema: unknown): boolean => {
    if (!isZod(schema)) return false;
    if (seen.has(schema)) return true;
    seen.add(schema);
    const def = schema._zod.def;
    const type = def.type;
    if (typeof type !== 'string' || !identityTypes.has(type)) return false;
    const checks = def.checks;
    if (checks !== undefined) {
      if (!Array.isArray(checks)) return false;
      for (const c of checks) {
        // `overwrite` checks (trim, toLowerCase…) change the value.
        if (!isZod(c) || c._zod.def.check === 'overwrite') return false;
      }
    }
    switch (type) {
      case 'object': {
        // A plain z.object strips unknown keys; strict (never) and loose (unknown) ones keep input as is.
        const catchall = def.catchall;
        if (!isZod(catchall)) return false;
        const catchallType = catchall._zod.def.type;
        if (catchallType !== 'never' && catchallType !== 'unknown') return false;
        const shape = def.shape;
        if (typeof shape !== 'object' || shape === null) return false;
        return Object.values(shape).every(check);
      }
      case 'array':
        return check(def.element);
      case 'optional':
      case 'nullable':
        return check(def.innerType);
      case 'union':
        return Array.isArray(def.options) && def.options.every(check);
      case 'record':
        return check(def.keyType) && check(def.valueType);
      default:
        return true;
    }
  };
  return check(root);
};

/** A literal or enum value JSON writes and reads back unchanged. */
const isJsonPrimitive = (value: unknown): boolean =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));

/**
 * Whether everything a zod schema outputs is plain JSON that `JSON.stringify` writes and
 * `JSON.parse` reads back unchanged, whatever input it accepted: fresh plain objects (strict
 * ones, which keep valid input as it is) and arrays, strings, finite numbers (zod 4's `number`
 * refuses NaN and ±Infinity), booleans, null, and literals and enums of those; an optional value
 * only as an object's property (JSON drops it there, but writes `null` for it in an array).
 * Records are left out (a key such as `__proto__` would not survive), as is anything the walk
 * does not recognise: false means "cannot tell".
 */
export const schemaOutputsJson = (root: unknown): boolean => {
  if (!schemaKeepsValidInput(root)) return false;
  const seen = new Set<object>();
  const check = (schema: unknown, asProperty: boolean): boolean => {
    if (!isZod(schema)) return false;
    const def = schema._zod.def;
    if (def.type === 'optional') return asProperty && check(def.innerType, false);
    if (seen.has(schema)) return true;
    seen.add(schema);
    switch (def.type) {
      case 'string':
      case 'number':
      case 'boolean':
      case 'null':
        return true;
      case 'literal':
        return Array.isArray(def.values) && def.values.every(isJsonPrimitive);
      case 'enum':
        return (
          typeof def.entries === 'object' &&
          def.entries !== null &&
          Object.values(def.entries).every(isJsonPrimitive)
        );
      case 'object': {
        const catchall = def.catchall;
        if (!isZod(catchall) || catchall._zod.def.type !== 'never') return false;
        const shape = def.shape;
        if (typeof shape !== 'object' || shape === null) return false;
        return Object.values(shape).every((property) => check(property, true));
      }
      case 'array':
        return check(def.element, false);
      case 'nullable':
        return check(def.innerType, false);
      case 'union':
        return Array.isArray(def.options) && def.options.every((option) => check(option, asProperty));
      default:
        return false;
    }
  };
  return check(root, false);
};
