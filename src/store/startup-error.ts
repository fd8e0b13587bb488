/**
 * Why the server cannot start, in words that say what to do (a data dir in use, a missing or
 * wrong key file, a damaged database). The CLI prints the message alone and exits 1.
 */
export class StartupError extends Error {
  override readonly name = "StartupError";
}
