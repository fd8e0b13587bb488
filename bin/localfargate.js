#!/usr/bin/env node
// Runs the compiled CLI (dist/cli.mjs, made by `npm run build`), building it first when it is
// missing or older than src/ (a check of file times, a few milliseconds). Stack traces name the
// TypeScript files in src/: the bundle's source map is read when a stack trace is first formatted.

const build = await import("../scripts/build.mjs");
if (build.isStale()) {
  try {
    await build.build();
  } catch (e) {
    console.error(`localfargate: building dist/ from src/ failed (npm run build shows why): ${e.message}`);
    process.exit(1);
  }
}
const cli = new URL("../dist/cli.mjs", import.meta.url).href;
(await import("../scripts/lazy-source-maps.mjs")).mapStackTracesLazily(cli);
await import(cli);
