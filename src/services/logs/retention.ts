/**
 * Retention on the service clock: events older than their group's retention are deleted, and
 * each stored batch goes once its newest event has expired
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention).
 */
import type { DueRunner } from "../../kernel/context.ts";
import type { WriteOp } from "../../store/store.ts";
import type { LogsDeps } from "./deps.ts";
import { BATCH_KIND, eventKey, STREAM_KIND } from "./state.ts";

const DAY_MS = 86_400_000;

export function retentionRunner(deps: LogsDeps): DueRunner {
  return {
    name: "logs retention",
    async runDue(nowMs) {
      const writes: WriteOp[] = [];
      for (const g of deps.state.groups.values()) {
        const days = g.record.retentionInDays;
        if (days === undefined) continue;
        const cutoff = nowMs - days * DAY_MS;
        const bound = eventKey(Math.max(0, cutoff), 0);
        for (const s of g.streams.values()) {
          const expired = s.events.page({ after: bound, descending: true, limit: Number.MAX_SAFE_INTEGER }).items;
          if (expired.length === 0 && s.nextExpiry >= cutoff) continue;
          let bytes = 0;
          for (const e of expired) {
            s.events.delete(e.key);
            bytes += Buffer.byteLength(e.message, "utf8");
          }
          for (const b of [...s.batches.values()]) {
            if (b.maxTimestamp >= cutoff) continue;
            s.batches.delete(b.id);
            writes.push(deps.store.del(BATCH_KIND, b.id));
          }
          s.unopened = s.unopened.filter((b) => s.batches.has(b.id));
          s.nextExpiry = [...s.batches.values()].reduce((m, b) => Math.min(m, b.maxTimestamp), Infinity);
          s.record.storedBytes = Math.max(0, s.record.storedBytes - bytes);
          g.storedBytes = Math.max(0, g.storedBytes - bytes);
          writes.push(deps.store.put(STREAM_KIND, `${g.record.arn}|${s.record.name}`, s.record));
        }
      }
      if (writes.length) await deps.store.commit(writes);
    },
  };
}
