/** The IAM policy language and evaluator: compile once, evaluate fast. */
export * from "./types.ts";
export { compilePolicy } from "./compile.ts";
export { evaluate, accessDeniedMessage, simulate } from "./evaluate.ts";
