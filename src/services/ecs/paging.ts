/**
 * ECS list paging: maxResults (1..100) and an opaque nextToken naming the last item returned
 * (src/store/paging.ts); a token ECS did not issue is InvalidParameterException "Invalid token".
 */
import { ServiceError } from "../../kernel/errors.ts";
import type { ScopedIndex } from "../../store/ordered-index.ts";
import { pageIndex, tokenFor as positionTokenFor, tokenPosition as positionOf, type IndexPageOptions, type PageTokens } from "../../store/paging.ts";

export const ECS_TOKENS: PageTokens = {
  prefix: "lf2:",
  invalid: () => new ServiceError("InvalidParameterException", "Invalid token", 400),
  resume: "after",
};

export function checkMaxResults(maxResults: number | undefined, limit = 100): number {
  if (maxResults !== undefined && (maxResults < 1 || maxResults > limit)) {
    throw new ServiceError("InvalidParameterException", `maxResults must be between 1 and ${limit}.`, 400);
  }
  return maxResults ?? limit;
}

/** The position a nextToken names, or InvalidParameterException for a token ECS did not issue. */
export function tokenPosition(nextToken: string | undefined): string | undefined {
  return nextToken ? positionOf(ECS_TOKENS, nextToken) : undefined;
}

export function tokenFor(position: string): string {
  return positionTokenFor(ECS_TOKENS, position);
}

/** One page of one scope of an ordered index. */
export function indexPage<T, R>(
  index: ScopedIndex<T>,
  scope: string,
  input: { maxResults?: number; nextToken?: string },
  map: (t: T) => R,
  opts: IndexPageOptions<T> = {},
): { items: R[]; nextToken?: string } {
  const limit = checkMaxResults(input.maxResults);
  const p = pageIndex(ECS_TOKENS, index, scope, input.nextToken || undefined, limit, opts);
  return { items: p.items.map(map), nextToken: p.next };
}
