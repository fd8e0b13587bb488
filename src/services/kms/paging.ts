/**
 * KMS list paging: Limit/Marker in, NextMarker/Truncated out, on the shared paging
 * (src/store/paging.ts). The marker names the last item returned (by a stable sort key); a
 * marker KMS did not issue → InvalidMarkerException.
 */
import type { PageRequest, ScopedIndex } from "../../store/ordered-index.ts";
import { pageIndex, pageList, type Paged, type PageTokens } from "../../store/paging.ts";
import { err } from "./state.ts";

export { dateKey } from "./state.ts";

export const KMS_TOKENS: PageTokens = { prefix: "lfm1:", invalid: () => err.invalidMarker(), resume: "after" };

export interface Page<T> {
  items: T[];
  NextMarker?: string;
  Truncated: boolean;
}

function kmsPage<T>(p: Paged<T>): Page<T> {
  return { items: p.items, Truncated: p.next !== undefined, NextMarker: p.next };
}

/**
 * A page of a small, bounded list (a key's tags, rotations or aliases).
 * @param items already in their stable order
 * @param sortKey a unique, order-preserving key per item
 */
export function pageOf<T>(items: T[], sortKey: (t: T) => string, limit: number | undefined, marker: string | undefined, defaultLimit: number): Page<T> {
  return kmsPage(pageList(KMS_TOKENS, items, sortKey, marker, limit ?? defaultLimit));
}

/** A page of one scope of an ordered index: binary search to the marker, then the page. */
export function indexPageOf<T>(
  index: ScopedIndex<T>,
  scope: string,
  limit: number | undefined,
  marker: string | undefined,
  defaultLimit: number,
  filter?: PageRequest<T>["filter"],
): Page<T> {
  return kmsPage(pageIndex(KMS_TOKENS, index, scope, marker, limit ?? defaultLimit, { filter }));
}
