/**
 * Runs every acceptance script (test/acceptance/*.sh): each starts its own server and drives
 * the real AWS CLI. Skipped only where the `aws` CLI is not installed.
 */
import { describe, it, expect } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(process.cwd(), "test", "acceptance");
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".sh"))
  .sort();
let haveAws = true;
try {
  execFileSync("aws", ["--version"], { stdio: "ignore" });
} catch {
  haveAws = false;
}

describe.skipIf(!haveAws)("acceptance scripts with the real aws CLI", () => {
  for (const s of scripts) {
    it(s, { timeout: 300_000 }, () => {
      const r = spawnSync("bash", [join(dir, s)], { encoding: "utf8", timeout: 290_000, env: { ...process.env, AWS_PAGER: "" } });
      if (r.status !== 0) console.error(`--- ${s} stdout ---\n${r.stdout}\n--- ${s} stderr ---\n${r.stderr}`);
      expect(r.status, `${s} exited with ${r.status}`).toBe(0);
    });
  }
});
