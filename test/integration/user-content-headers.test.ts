/**
 * What users and tasks stored, served on the console's origin: S3 objects, task output and every
 * API answer carry `Content-Security-Policy: sandbox` and `X-Content-Type-Options: nosniff`, so a
 * stored HTML or SVG page cannot run script as the console (docs/security.md). The console keeps
 * its own policy. With chromium installed, a stored page is opened for real and must not run.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { chromium } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.ts";
import { Sha256 } from "../support/signed-fetch.ts";

const CHROMIUM = process.env.LOCALFARGATE_CHROMIUM ?? "/usr/bin/chromium";
const PAGE = `<!doctype html><html><head><title>stored</title></head><body><script>document.title = "ran:" + window.origin;</script></body></html>`;
const SVG = `<svg xmlns="http://www.w3.org/2000/svg"><script>document.documentElement.setAttribute("data-ran", "yes")</script></svg>`;

let s: TestServer;
let s3: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "site" }));
  await s3.send(new PutObjectCommand({ Bucket: "site", Key: "page.html", Body: PAGE, ContentType: "text/html" }));
  await s3.send(new PutObjectCommand({ Bucket: "site", Key: "image.svg", Body: SVG, ContentType: "image/svg+xml" }));
  await s3.send(new PutObjectCommand({ Bucket: "site", Key: "notes.txt", Body: PAGE, ContentType: "text/plain" }));
});
afterAll(async () => {
  await s?.close();
});

/** A presigned GET URL for an object, as a browser would open it. */
async function presigned(key: string, query: Record<string, string> = {}): Promise<string> {
  const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: s.config.credentials, sha256: Sha256, uriEscapePath: false });
  const r = await signer.presign(
    {
      method: "GET",
      protocol: "http:",
      hostname: "127.0.0.1",
      port: s.port,
      path: `/site/${key}`,
      query,
      headers: { host: `127.0.0.1:${s.port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    },
    { expiresIn: 300 },
  );
  return `${s.url}/site/${key}?${new URLSearchParams(r.query as Record<string, string>)}`;
}

const expectSandboxed = (res: Response) => {
  expect(res.headers.get("content-security-policy")).toBe("sandbox");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
};

describe("user content on the console origin", () => {
  it("S3 objects are served sandboxed and unsniffed, with their own type and bytes", async () => {
    const page = await fetch(await presigned("page.html"));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html");
    expect(await page.text()).toBe(PAGE);
    expectSandboxed(page);
    const svg = await fetch(await presigned("image.svg"));
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    expectSandboxed(svg);
    // a response-content-type override cannot lift it either
    const overridden = await fetch(await presigned("notes.txt", { "response-content-type": "text/html" }));
    expect(overridden.headers.get("content-type")).toBe("text/html");
    expectSandboxed(overridden);
    // nor is a missing object's error page, whose XML names the key
    expectSandboxed(await fetch(await presigned("<script>x</script>.html")));
    const ranged = await fetch(await presigned("page.html"), { headers: { range: "bytes=0-9" } });
    expect(ranged.status).toBe(206);
    expectSandboxed(ranged);
  });

  it("task output, control answers and API answers are too; the console keeps its own policy", async () => {
    expectSandboxed(await fetch(`${s.url}/_localfargate/logs?task=x`));
    expectSandboxed(await fetch(`${s.url}/_localfargate/clock`));
    expectSandboxed(await fetch(`${s.url}/?Action=GetCallerIdentity&Version=2011-06-15`));
    expectSandboxed(await fetch(`${s.url}/`, { headers: { origin: "http://evil.example" } }));
    const consolePage = await fetch(`${s.url}/_localfargate/console`);
    expect(consolePage.headers.get("content-security-policy") ?? "").not.toContain("sandbox");
  });

  it.skipIf(!existsSync(CHROMIUM))("a stored HTML or SVG page opened in chromium runs no script", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage();
      await page.goto(await presigned("page.html"));
      expect(await page.title()).toBe("stored");
      await page.goto(await presigned("image.svg"));
      expect(await page.locator("svg").getAttribute("data-ran")).toBeNull();
    } finally {
      await browser.close();
    }
  });
});
