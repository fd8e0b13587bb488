/** ECS list paging: an opaque nextToken (base64 of the offset) and maxResults up to 100. */
import { ServiceError } from "../../kernel/errors.ts";

export function page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, limit = 100): { items: T[]; nextToken?: string } {
  if (maxResults !== undefined && (maxResults < 1 || maxResults > limit)) {
    throw new ServiceError("InvalidParameterException", `maxResults must be between 1 and ${limit}.`, 400);
  }
  let start = 0;
  if (nextToken) {
    const m = /^lf1:(\d+)$/.exec(Buffer.from(nextToken, "base64").toString("utf8"));
    if (!m) throw new ServiceError("InvalidParameterException", "Invalid token", 400);
    start = Number(m[1]);
  }
  const size = maxResults ?? limit;
  const slice = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(`lf1:${start + size}`).toString("base64") : undefined;
  return { items: slice, nextToken: next };
}
