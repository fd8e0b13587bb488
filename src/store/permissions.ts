/**
 * The data dir holds the root key, the credentials key, every database and the audit log: only
 * the user the server runs as may read it. The directory is mode 0700 and every file in it
 * 0600; a data dir made by an earlier version (0755 directories, 0644 files) is tightened at
 * start, once the data dir lock is held.
 */
import { chmodSync, lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Makes files the server creates from now on private to its user, whatever mode a library asks
 * for (SQLite's WAL and shared-memory files, for one). Explicit modes are used as well.
 */
export function usePrivateUmask(): void {
  try {
    process.umask(0o077);
  } catch {
    // worker threads cannot change the umask; the explicit modes still apply
  }
}

/**
 * chmods the data dir to 0700 and everything below it to 0700 (directories) or 0600 (files).
 * Task volumes (`volumes/`) get 0700 on the directory itself; what is inside a volume belongs
 * to the task and keeps its modes. Symbolic links are left alone (chmod would follow them).
 */
export function tightenDataDir(dataDir: string): void {
  // the data dir itself may be a symbolic link to the real directory: follow it
  if ((statSync(dataDir).mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dataDir, PRIVATE_DIR_MODE);
  for (const name of readdirSync(dataDir)) tighten(join(dataDir, name), name !== "volumes");
}

function tighten(path: string, recurse: boolean): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(path, PRIVATE_DIR_MODE);
    if (recurse) for (const name of readdirSync(path)) tighten(join(path, name), true);
  } else if (st.isFile() && (st.mode & 0o777) !== PRIVATE_FILE_MODE) {
    chmodSync(path, PRIVATE_FILE_MODE);
  }
}
