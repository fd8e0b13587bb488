/** The IAM policy language and evaluator: compile once, evaluate fast. Pure: no I/O. */
export * from "./types.ts";
export { compilePolicy, CACHE_LIMIT } from "./compile.ts";
export { evaluate, accessDeniedMessage, simulate, type SimulationResult } from "./evaluate.ts";
