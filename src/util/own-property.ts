/**
 * Own-property lookup for tables keyed by names that arrive on the wire (operation names,
 * X-Amz-Target, Action): `table[name]` would find `constructor`, `toString` or `__proto__` on
 * Object.prototype.
 */
export function own<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table !== undefined && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}
