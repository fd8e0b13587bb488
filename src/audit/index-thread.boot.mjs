// Entry of the index thread. A worker thread does not inherit the tsx loader the server runs
// under: register it, then load the TypeScript entry.
import { register } from "tsx/esm/api";

register();
await import("./index-thread.ts");
