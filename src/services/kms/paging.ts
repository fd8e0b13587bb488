/**
 * KMS list paging: Limit/Marker in, NextMarker/Truncated out. The marker names the last item
 * returned (by a stable sort key), so pages stay correct when items are added or removed
 * between calls. A marker KMS did not issue → InvalidMarkerException.
 */
import { err } from "./state.ts";

const PREFIX = "lfm1:";

export interface Page<T> {
  items: T[];
  NextMarker?: string;
  Truncated: boolean;
}

/**
 * @param items already in their stable order
 * @param sortKey a unique, order-preserving key per item
 */
export function pageOf<T>(items: T[], sortKey: (t: T) => string, limit: number | undefined, marker: string | undefined, defaultLimit: number): Page<T> {
  let start = 0;
  if (marker !== undefined) {
    const decoded = Buffer.from(marker, "base64url").toString("utf8");
    if (!decoded.startsWith(PREFIX)) throw err.invalidMarker();
    const after = decoded.slice(PREFIX.length);
    start = items.findIndex((t) => sortKey(t) > after);
    if (start < 0) start = items.length;
  }
  const size = limit ?? defaultLimit;
  const slice = items.slice(start, start + size);
  const truncated = start + size < items.length;
  return {
    items: slice,
    Truncated: truncated,
    NextMarker: truncated ? Buffer.from(PREFIX + sortKey(slice[slice.length - 1])).toString("base64url") : undefined,
  };
}

/** A sort key from a date and a tie-breaking id: fixed-width millis, then the id. */
export function dateKey(d: Date, id: string): string {
  return `${String(d.getTime()).padStart(15, "0")}|${id}`;
}
