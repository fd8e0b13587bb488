import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // image pulls reach loopback registries only: tests never leave this machine (src/fargate/images/registry.ts)
    env: { LOCALFARGATE_REGISTRY_PULLS: "loopback" },
  },
});
