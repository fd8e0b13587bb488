import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // A test that runs tasks takes 15 to 30 s on a loaded 2-core machine (the crun tests in
    // test/integration/ecs-containers.test.ts, measured with four busy loops beside them): a
    // hanging test fails a little later, a slow one no longer fails. Polls give up before this
    // (WAIT_MS in test/integration/ecs-helpers.ts), with a message naming what they waited for.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // image pulls reach loopback registries only: tests never leave this machine (src/fargate/images/registry.ts)
    env: { LOCALFARGATE_REGISTRY_PULLS: "loopback" },
  },
});
