/**
 * ECS list paging: maxResults (1..100) and an opaque nextToken that names the position of the
 * last item returned, so the next page starts there by binary search in an ordered index.
 */
import { ServiceError } from "../../kernel/errors.ts";
import { positionFromToken, positionToken, type PageRequest, type ScopedIndex } from "../../store/ordered-index.ts";

const PREFIX = "lf2:";

export function checkMaxResults(maxResults: number | undefined, limit = 100): number {
  if (maxResults !== undefined && (maxResults < 1 || maxResults > limit)) {
    throw new ServiceError("InvalidParameterException", `maxResults must be between 1 and ${limit}.`, 400);
  }
  return maxResults ?? limit;
}

/** The position a nextToken names, or InvalidParameterException for a token ECS did not issue. */
export function tokenPosition(nextToken: string | undefined): string | undefined {
  if (!nextToken) return undefined;
  const key = positionFromToken(PREFIX, nextToken);
  if (key === undefined) throw new ServiceError("InvalidParameterException", "Invalid token", 400);
  return key;
}

export function tokenFor(position: string): string {
  return positionToken(PREFIX, position);
}

/** One page of one scope of an ordered index. */
export function indexPage<T, R>(
  index: ScopedIndex<T>,
  scope: string,
  input: { maxResults?: number; nextToken?: string },
  map: (t: T) => R,
  opts: Pick<PageRequest<T>, "filter" | "descending" | "prefix"> = {},
): { items: R[]; nextToken?: string } {
  const limit = checkMaxResults(input.maxResults);
  const p = index.page(scope, { after: tokenPosition(input.nextToken), limit, ...opts });
  return { items: p.items.map(map), nextToken: p.nextKey !== undefined ? tokenFor(p.lastKey!) : undefined };
}
