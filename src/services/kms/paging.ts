/**
 * KMS list paging: Limit/Marker in, NextMarker/Truncated out. The marker names the last item
 * returned (by a stable sort key), so pages stay correct when items are added or removed
 * between calls. A marker KMS did not issue → InvalidMarkerException.
 */
import { positionFromToken, positionToken, type PageRequest, type ScopedIndex } from "../../store/ordered-index.ts";
import { err } from "./state.ts";

export { dateKey } from "./state.ts";

const PREFIX = "lfm1:";

export interface Page<T> {
  items: T[];
  NextMarker?: string;
  Truncated: boolean;
}

function markerKey(marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const after = positionFromToken(PREFIX, marker);
  if (after === undefined) throw err.invalidMarker();
  return after;
}

/**
 * A page of a small, bounded list (a key's tags, rotations or aliases).
 * @param items already in their stable order
 * @param sortKey a unique, order-preserving key per item
 */
export function pageOf<T>(items: T[], sortKey: (t: T) => string, limit: number | undefined, marker: string | undefined, defaultLimit: number): Page<T> {
  const after = markerKey(marker);
  let start = 0;
  if (after !== undefined) {
    start = items.findIndex((t) => sortKey(t) > after);
    if (start < 0) start = items.length;
  }
  const size = limit ?? defaultLimit;
  const slice = items.slice(start, start + size);
  const truncated = start + size < items.length;
  return {
    items: slice,
    Truncated: truncated,
    NextMarker: truncated ? positionToken(PREFIX, sortKey(slice[slice.length - 1])) : undefined,
  };
}

/** A page of one scope of an ordered index: binary search to the marker, then the page. */
export function indexPageOf<T>(index: ScopedIndex<T>, scope: string, limit: number | undefined, marker: string | undefined, defaultLimit: number, filter?: PageRequest<T>["filter"]): Page<T> {
  const p = index.page(scope, { after: markerKey(marker), limit: limit ?? defaultLimit, filter });
  const truncated = p.nextKey !== undefined;
  return { items: p.items, Truncated: truncated, NextMarker: truncated ? positionToken(PREFIX, p.lastKey!) : undefined };
}
