import { type Audience, DisclosureError } from '@lantern/core';
import {
  type AreaLevel,
  checkAreaLevel,
  checkPeriodGranularity,
  coarsenArea,
  type DisclosurePolicy,
  type PeriodGranularity,
} from './disclosurePolicy.js';

/** One cell of a count table: the count for one combination of categories, e.g. `{ area: 'KH-12', sex: 'F' }`. */
export interface CountCell {
  readonly key: Readonly<Record<string, string>>;
  /** A count: a non-negative integer. */
  readonly value: number;
}

/** What every table to release declares besides its cells. */
export interface TableShape {
  /** Names of the dimensions, e.g. `['area', 'month', 'sex']`. At least one. */
  readonly dimensions: readonly string[];
  /** Categories of each dimension, in release order. Default: the values seen in `cells`, sorted. */
  readonly categories?: Readonly<Record<string, readonly string[]>>;
  /** The dimension that holds area codes; its codes are checked against the policy's `areaLevel`. */
  readonly areaDimension?: string;
  /** The dimension that holds periods, and how fine they are; checked against the policy's `finestPeriod`. */
  readonly period?: { readonly dimension: string; readonly granularity: PeriodGranularity };
}

/**
 * Counts by every combination of categories of `dimensions`.
 *
 * A combination missing from `cells` counts 0: it is a cell like any other, released as 0 to every
 * audience (zero is not a small count) and it takes part in every total. A dimension's categories are
 * the values seen in `cells`, unless `categories` lists them (then a listed category with no cell is a
 * line of zeros, e.g. a month with no activity).
 */
export interface CountTable extends TableShape {
  readonly cells: readonly CountCell[];
}

/**
 * A table's dimensions laid out with one extra "Total" level each, so that cells and every margin
 * live in one array: index `Σ coordinateᵢ · strideᵢ`, where coordinate `sizes[i]` means "all categories".
 */
export interface TableLayout {
  readonly dimensions: readonly string[];
  readonly categories: readonly (readonly string[])[];
  /** Categories per dimension; the Total level of dimension i is `sizes[i]`. */
  readonly sizes: readonly number[];
  readonly strides: readonly number[];
  /** Number of entries: Π (sizes[i] + 1). */
  readonly length: number;
  readonly grandTotal: number;
}

/** Most cells and totals one release may hold: secondary suppression is meant for report tables, not data dumps. */
const largestRelease = 100_000;

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Throws unless `dimensions` is a non-empty list of distinct names. */
export const requireDimensions = (dimensions: readonly string[]): void => {
  if (!Array.isArray(dimensions) || dimensions.length === 0) {
    throw new DisclosureError(
      'A table needs at least one dimension (e.g. ["area"]). To release a single count use protectCount.',
    );
  }
  if (new Set(dimensions).size !== dimensions.length) {
    throw new DisclosureError(
      `Dimensions ${JSON.stringify(dimensions)} repeat a name: give each dimension once.`,
    );
  }
};

const describeKey = (key: Readonly<Record<string, string>>): string => JSON.stringify(key);

/** The layout of a table whose cells have the given keys (and whose declared categories are `declared`). */
export const layoutOf = (
  dimensions: readonly string[],
  keys: readonly Readonly<Record<string, string>>[],
  declared: Readonly<Record<string, readonly string[]>> | undefined,
): TableLayout => {
  requireDimensions(dimensions);
  for (const key of keys) {
    const names = Object.keys(key);
    if (names.length !== dimensions.length || !dimensions.every((d) => typeof key[d] === 'string')) {
      throw new DisclosureError(
        `Cell ${describeKey(key)} does not match the table's dimensions ${JSON.stringify(dimensions)}: ` +
          'give every cell exactly one string category per dimension.',
      );
    }
  }
  const categories = dimensions.map((dimension) => {
    const seen = new Set(keys.map((key) => key[dimension] as string));
    const listed = declared?.[dimension];
    if (listed === undefined) return [...seen].sort(compareText);
    if (new Set(listed).size !== listed.length) {
      throw new DisclosureError(`Categories of "${dimension}" repeat a value: list each category once.`);
    }
    const missing = [...seen].filter((value) => !listed.includes(value));
    if (missing.length > 0) {
      throw new DisclosureError(
        `Cells use ${JSON.stringify(missing)} in "${dimension}", which its categories do not list: ` +
          'add them to categories, or leave categories out to use the values the cells carry.',
      );
    }
    return [...listed];
  });
  for (const [i, list] of categories.entries()) {
    if (list.length === 0) {
      throw new DisclosureError(
        `Dimension "${dimensions[i]}" has no categories: give at least one cell or list its categories.`,
      );
    }
  }
  const sizes = categories.map((list) => list.length);
  const strides: number[] = [];
  let length = 1;
  for (let i = sizes.length - 1; i >= 0; i -= 1) {
    strides[i] = length;
    length *= (sizes[i] as number) + 1;
  }
  if (length > largestRelease) {
    throw new DisclosureError(
      `A table of ${sizes.join(' × ')} categories has ${length} cells and totals, more than the ${largestRelease} ` +
        'disclosure control handles in one release: coarsen a dimension or split the table.',
    );
  }
  const grandTotal = sizes.reduce((index, size, i) => index + size * (strides[i] as number), 0);
  return { dimensions: [...dimensions], categories, sizes, strides, length, grandTotal };
};

/** The coordinates of entry `index` (coordinate `sizes[i]` is the Total level). */
export const coordinatesOf = (layout: TableLayout, index: number): number[] =>
  layout.strides.map((stride, i) => Math.floor(index / stride) % ((layout.sizes[i] as number) + 1));

/** Whether entry `index` is a cell (no Total level in any dimension) rather than a margin. */
export const isCell = (layout: TableLayout, index: number): boolean =>
  coordinatesOf(layout, index).every((c, i) => c < (layout.sizes[i] as number));

/** The key of entry `index`: its category in every dimension it does not total over. */
export const keyOf = (layout: TableLayout, index: number): Record<string, string> => {
  const key: Record<string, string> = {};
  for (const [i, c] of coordinatesOf(layout, index).entries()) {
    const category = layout.categories[i]?.[c];
    if (category !== undefined) key[layout.dimensions[i] as string] = category;
  }
  return key;
};

/** The index of the cell with `key`. */
export const cellIndexOf = (layout: TableLayout, key: Readonly<Record<string, string>>): number =>
  layout.dimensions.reduce(
    (index, dimension, i) =>
      index +
      (layout.categories[i] as readonly string[]).indexOf(key[dimension] as string) *
        (layout.strides[i] as number),
    0,
  );

/**
 * Fills every margin of `values` (cells already set) with the sum of the cells it covers. Entries are
 * visited in order of how many dimensions they total over, so each margin sums entries already filled.
 */
export const fillMargins = (layout: TableLayout, values: number[]): void => {
  const byDepth: number[][] = layout.sizes.map(() => []);
  for (let index = 0; index < layout.length; index += 1) {
    const depth = coordinatesOf(layout, index).filter((c, i) => c === layout.sizes[i]).length;
    if (depth > 0) byDepth[depth - 1]?.push(index);
  }
  for (const level of byDepth) {
    for (const index of level) {
      const coordinates = coordinatesOf(layout, index);
      const i = coordinates.findIndex((c, d) => c === layout.sizes[d]);
      const size = layout.sizes[i] as number;
      const stride = layout.strides[i] as number;
      let sum = 0;
      for (let c = 0; c < size; c += 1) sum += values[index - (size - c) * stride] as number;
      values[index] = sum;
    }
  }
};

/** Throws unless `value` is a count. */
export const requireCount = (value: number, where: string): void => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DisclosureError(
      `${where} is ${String(value)}, which is not a count: disclosure control takes non-negative whole numbers.`,
    );
  }
};

/** The entries (cells, then margins filled in) of a validated count table. */
export const readCountTable = (table: CountTable): { layout: TableLayout; values: number[] } => {
  const layout = layoutOf(
    table.dimensions,
    table.cells.map((cell) => cell.key),
    table.categories,
  );
  const values = new Array<number>(layout.length).fill(0);
  const seen = new Set<number>();
  for (const cell of table.cells) {
    requireCount(cell.value, `The count of cell ${describeKey(cell.key)}`);
    const index = cellIndexOf(layout, cell.key);
    if (seen.has(index)) {
      throw new DisclosureError(
        `Cell ${describeKey(cell.key)} appears twice: add its counts together into one cell first.`,
      );
    }
    seen.add(index);
    values[index] = cell.value;
  }
  fillMargins(layout, values);
  return { layout, values };
};

/**
 * `table` with the area codes of `dimension` truncated to `level` and the cells that now share a key
 * added together (`KH-12-06` and `KH-12-09` become one `KH-12` cell). Declared categories are coarsened too.
 */
export const coarsenAreas = (table: CountTable, dimension: string, level: AreaLevel): CountTable => {
  requireDimensions(table.dimensions);
  if (!table.dimensions.includes(dimension)) {
    throw new DisclosureError(
      `The table has no dimension "${dimension}" (it has ${JSON.stringify(table.dimensions)}): name its area dimension.`,
    );
  }
  const merged = new Map<string, { key: Record<string, string>; value: number }>();
  for (const cell of table.cells) {
    requireCount(cell.value, `The count of cell ${describeKey(cell.key)}`);
    const key = { ...cell.key, [dimension]: coarsenArea(cell.key[dimension] ?? '', level) };
    const id = JSON.stringify(table.dimensions.map((d) => key[d]));
    const existing = merged.get(id);
    if (existing) existing.value += cell.value;
    else merged.set(id, { key, value: cell.value });
  }
  const declared = table.categories?.[dimension];
  const categories =
    table.categories === undefined || declared === undefined
      ? table.categories
      : {
          ...table.categories,
          [dimension]: [...new Set(declared.map((code) => coarsenArea(code, level)))],
        };
  return {
    ...table,
    cells: [...merged.values()],
    ...(categories === undefined ? {} : { categories }),
  };
};

/** Throws a DisclosureError when the table's declared area or period dimension is finer than `policy` allows. */
export const checkDeclaredDimensions = (
  table: TableShape & { readonly cells: readonly { readonly key: Readonly<Record<string, string>> }[] },
  audience: Audience,
  policy: DisclosurePolicy,
): void => {
  const requireDimension = (dimension: string, what: string): void => {
    if (!table.dimensions.includes(dimension)) {
      throw new DisclosureError(
        `The table's ${what} dimension "${dimension}" is not one of its dimensions ${JSON.stringify(table.dimensions)}: name one of them.`,
      );
    }
  };
  if (table.areaDimension !== undefined) {
    const dimension = table.areaDimension;
    requireDimension(dimension, 'area');
    for (const code of new Set([
      ...table.cells.map((cell) => cell.key[dimension] ?? ''),
      ...(table.categories?.[dimension] ?? []),
    ])) {
      checkAreaLevel(code, audience, policy);
    }
  }
  if (table.period !== undefined) {
    requireDimension(table.period.dimension, 'period');
    checkPeriodGranularity(table.period.granularity, audience, policy);
  }
};
