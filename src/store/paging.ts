/**
 * List paging, written once for every service: a page token names a position (the key of a
 * boundary entry in an ordered index or a stably sorted list), so pages stay put when entries
 * are added or removed between calls.
 *
 * Each service keeps its own token dialect (`PageTokens`): a prefix inside the token, so one
 * service's token (or another list's) is refused by the next, and the error that service
 * answers for a token it did not issue (ECS InvalidParameterException, KMS
 * InvalidMarkerException, IAM InvalidInput). Two resume styles exist because the wire formats
 * of the services differ and tokens already handed out must keep working:
 * - `after`: the token names the last entry returned; the next page starts after it.
 * - `at`: the token names the first entry of the next page; the next page starts at it.
 */
import { positionFromToken, positionToken, type PageRequest, type ScopedIndex } from "./ordered-index.ts";

export interface PageTokens {
  /** inside the token; makes a token valid for one service's lists only */
  prefix: string;
  /** the service's error for a token it did not issue */
  invalid: () => Error;
  resume: "after" | "at";
}

export interface Paged<T> {
  items: T[];
  /** the token of the next page; undefined on the last page */
  next?: string;
}

/** The position a token names; undefined for no token; the service's error for a foreign one. */
export function tokenPosition(tokens: PageTokens, token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const key = positionFromToken(tokens.prefix, token);
  if (key === undefined) throw tokens.invalid();
  return key;
}

export function tokenFor(tokens: PageTokens, position: string): string {
  return positionToken(tokens.prefix, position);
}

export type IndexPageOptions<T> = Pick<PageRequest<T>, "filter" | "descending" | "prefix">;

/** One page of one scope of an ordered index: binary search to the token's position, then the page. */
export function pageIndex<T>(
  tokens: PageTokens,
  index: ScopedIndex<T> | undefined,
  scope: string,
  token: string | undefined,
  limit: number,
  opts: IndexPageOptions<T> = {},
): Paged<T> {
  const position = tokenPosition(tokens, token);
  const bound = tokens.resume === "after" ? { after: position } : { from: position };
  const p = index?.page(scope, { ...bound, limit, ...opts });
  if (!p || p.nextKey === undefined) return { items: p?.items ?? [] };
  return { items: p.items, next: tokenFor(tokens, tokens.resume === "after" ? p.lastKey! : p.nextKey) };
}

/**
 * One page of a small list already in the ascending order of `sortKey` (a unique key per item,
 * which may use the item's place in the list).
 */
export function pageList<T>(tokens: PageTokens, items: T[], sortKey: (t: T, index: number) => string, token: string | undefined, limit: number): Paged<T> {
  const position = tokenPosition(tokens, token);
  let start = 0;
  if (position !== undefined) {
    start = items.findIndex((t, i) => (tokens.resume === "after" ? sortKey(t, i) > position : sortKey(t, i) >= position));
    if (start < 0) start = items.length;
  }
  const end = start + limit;
  const slice = items.slice(start, end);
  if (end >= items.length) return { items: slice };
  return { items: slice, next: tokenFor(tokens, tokens.resume === "after" ? sortKey(slice[slice.length - 1], end - 1) : sortKey(items[end], end)) };
}
