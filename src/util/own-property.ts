/**
 * Own-property lookup for tables keyed by names that arrive on the wire (operation names,
 * X-Amz-Target, Action): `table[name]` would find `constructor`, `toString` or `__proto__` on
 * Object.prototype.
 */
export function own<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table !== undefined && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/**
 * Sets `table[key]` as an own, enumerable property, for keys that arrive on the wire:
 * `table["__proto__"] = v` would change the object's prototype (or be ignored) instead.
 */
export function setOwn<T>(table: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
  else table[key] = value;
}
