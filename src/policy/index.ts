/** The IAM policy language and evaluator: compile once, evaluate fast. Pure: no I/O. */
export * from "./types.ts";
export { compilePolicy, compileStoredPolicy, CACHE_LIMIT, MAX_DOCUMENT_CHARS } from "./compile.ts";
export { evaluate, accessDeniedMessage, simulate, resourceAccount, type SimulationResult } from "./evaluate.ts";
