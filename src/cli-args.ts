/**
 * Strict command-line parsing: every command lists the flags it takes, and anything else (an
 * unknown flag, a stray argument, a flag without its value) is a usage error, so a mistyped
 * start never quietly runs with defaults on someone else's port or data dir.
 */

export type FlagKind = "string" | "boolean";

export interface ParsedArgs {
  flags: Record<string, string | boolean>;
  positionals: string[];
  help: boolean;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

const TRUE = new Set(["true", "1", "yes"]);
const FALSE = new Set(["false", "0", "no"]);

/**
 * `--name value` and `--name=value` for string flags; `--name`, `--name=true` and
 * `--name=false` for boolean ones. `--help`/`-h` anywhere asks for usage. `--` ends the flags.
 */
export function parseArgs(args: string[], spec: Record<string, FlagKind>, maxPositionals: number): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  let help = false;
  let flagsDone = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!flagsDone && (a === "--help" || a === "-h")) {
      help = true;
      continue;
    }
    if (!flagsDone && a === "--") {
      flagsDone = true;
      continue;
    }
    if (flagsDone || !a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    if (!a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    const eq = a.indexOf("=");
    const name = a.slice(2, eq > 0 ? eq : undefined);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (name in flags) throw new UsageError(`--${name} is given twice`);
    if (kind === "boolean") {
      if (eq < 0) flags[name] = true;
      else {
        const v = a.slice(eq + 1).toLowerCase();
        if (TRUE.has(v)) flags[name] = true;
        else if (FALSE.has(v)) flags[name] = false;
        else throw new UsageError(`--${name} takes true or false, not "${a.slice(eq + 1)}"`);
      }
    } else if (eq > 0) {
      flags[name] = a.slice(eq + 1);
    } else {
      const v = args[i + 1];
      if (v === undefined || (v.startsWith("--") && v.length > 2) || v === "-h") throw new UsageError(`--${name} needs a value`);
      flags[name] = v;
      i++;
    }
  }
  if (!help && positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument${positionals.length - maxPositionals > 1 ? "s" : ""}: ${positionals.slice(maxPositionals).join(" ")}`);
  }
  return { flags, positionals, help };
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new Error(`cannot read duration "${s}": use a number with s, m, h or d (e.g. 30d)`);
  const n = Number(m[1]);
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
}

/** Where `clock` finds the running server: --endpoint, LOCALFARGATE_ENDPOINT, LOCALFARGATE_HOST/PORT. */
export function clockEndpoint(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.LOCALFARGATE_ENDPOINT) return env.LOCALFARGATE_ENDPOINT;
  let host = env.LOCALFARGATE_HOST || "127.0.0.1";
  // a server listening on every address is reached on loopback
  if (host === "0.0.0.0") host = "127.0.0.1";
  if (host === "::" || host === "[::]") host = "::1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${env.LOCALFARGATE_PORT || 4566}`;
}

/** The web console's address for the start-up line: a server on every address is opened on loopback. */
export function consoleUrl(serverUrl: string): string {
  const u = new URL(serverUrl);
  if (u.hostname === "0.0.0.0") u.hostname = "127.0.0.1";
  if (u.hostname === "[::]") u.hostname = "[::1]";
  return `${u.origin}/_localfargate/console`;
}
