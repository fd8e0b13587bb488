/**
 * The web console in headless Chromium (Debian's chromium driven by playwright-core): sign in,
 * see what the API created, act on a key, watch a task fail, move the clock, filter CloudTrail.
 * Screenshots of each main page go to test-results/console/. Skipped, with the reason, when no
 * chromium is installed (scripts/setup.sh installs it).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RunTaskCommand, StopTaskCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { KMSClient, ListGrantsCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { S3Client } from "@aws-sdk/client-s3";
import { createTrailBucket } from "../integration/cloudtrail-helpers.ts";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import {
  CreateAccountCommand,
  CloseAccountCommand,
  CreateOrganizationCommand,
  DescribeCreateAccountStatusCommand,
  EnableAWSServiceAccessCommand,
  OrganizationsClient,
  RegisterDelegatedAdministratorCommand,
} from "@aws-sdk/client-organizations";
import { buildConsole } from "../../scripts/build.mjs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper, running, stopped, waitTask } from "../integration/ecs-helpers.ts";

const CHROMIUM = process.env.LOCALFARGATE_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(process.cwd(), "test-results", "console");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`console browser tests skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set LOCALFARGATE_CHROMIUM)`);

let server: TestServer;
let browser: Browser;
let page: Page;
let ecs: ECSClient;
let kms: KMSClient;
let key: { keyId: string; arn: string };
let consoleUrl: string;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const go = async (route: string) => {
  // (page code is passed as text: the tests' TypeScript has no DOM types)
  await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
};

/** Navigation timing of the page just loaded (ms from navigation start). */
async function firstPaint(): Promise<{ firstContentfulPaintMs: number; domContentLoadedMs: number; responseEndMs: number }> {
  // the paint entry can arrive after the load event: wait for it (buffered, so an earlier one counts)
  return page.evaluate(`new Promise((resolve) => {
    const nav = performance.getEntriesByType("navigation")[0];
    new PerformanceObserver((list, observer) => {
      const fcp = list.getEntries().find((e) => e.name === "first-contentful-paint");
      if (!fcp) return;
      observer.disconnect();
      resolve({ firstContentfulPaintMs: fcp.startTime, domContentLoadedMs: nav.domContentLoadedEventEnd, responseEndMs: nav.responseEnd });
    }).observe({ type: "paint", buffered: true });
  })`);
}

describe.skipIf(!haveChromium)("the web console", () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await buildConsole();
    server = await startTestServer();
    ecs = new ECSClient(server.config);
    kms = new KMSClient(server.config);
    consoleUrl = `${server.url}/_localfargate/console`;
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (e) => console.error("console page error:", e));
  });
  afterEach(async (t) => {
    if (t.task.result?.state === "fail" && page)
      console.error(`console page at failure (${await page.evaluate("location.hash")}):`, await page.textContent("main").catch(() => ""));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("signs in with the pre-filled default key pair and shows who it is", async () => {
    await page.goto(consoleUrl);
    const cold = await firstPaint(); // the browser's first page
    await page.reload();
    const warm = await firstPaint();
    writeFileSync(join(SHOTS, "timing.json"), JSON.stringify({ cold, warm }, null, 2));
    console.log(`console first paint on loopback (ms): ${JSON.stringify({ cold, warm })}`);
    expect(await page.inputValue("#access-key-id")).toBe("test");
    expect(await page.inputValue("#secret-access-key")).toBe("test");
    await shot("sign-in");
    await page.click("#signin");
    await page.waitForSelector("#identity:has-text('arn:aws:iam::000000000000:root')");
    expect(await page.evaluate("Object.keys(sessionStorage)")).toEqual(["localfargate.console.session"]);
  });

  it("refuses a wrong secret with STS's error and stays on the sign-in form", async () => {
    const other = await browser.newPage();
    await other.goto(consoleUrl);
    await other.fill("#secret-access-key", "wrong");
    await other.click("#signin");
    await other.waitForSelector("#signin-error:has-text('SignatureDoesNotMatch')");
    expect(await other.locator("#identity").count()).toBe(0);
    await other.close();
  });

  it("shows a key and a cluster created through the API, with the key's Fargate statements highlighted", async () => {
    key = await createFargateKey(kms, "story");
    await ecs.send(new CreateClusterCommand({ clusterName: "story", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } } }));
    await go("/keys");
    await page.waitForSelector(`a:has-text('${key.keyId}')`);
    await shot("keys");
    await go("/clusters");
    await page.waitForSelector("a:has-text('story')");
    expect(await page.textContent("#content")).toContain(key.keyId);
    await shot("clusters");
    await go(`/keys/${key.keyId}`);
    await page.waitForSelector("#key-state:has-text('Enabled')");
    expect(await page.locator(".statement.fargate").count()).toBe(2);
    expect(await page.locator(".statement:not(.fargate)").count()).toBe(2);
  });

  it("links each task to its own volume and grant by the volume id derived from the task's ARN, even when tasks provision together", async () => {
    const td = await registerSleeper(ecs, "story-pair");
    const out = await ecs.send(new RunTaskCommand({ cluster: "story", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK, count: 2 }));
    const arns = out.tasks!.map((t) => t.taskArn!);
    expect(arns).toHaveLength(2);
    for (const arn of arns) await waitTask(ecs, "story", arn, running);
    const grants = (await kms.send(new ListGrantsCommand({ KeyId: key.keyId }))).Grants!;
    // the volume id is vol- and the first 17 hex digits of the SHA-256 of the task's ARN (docs/console.md#volumes-and-grants)
    const volumeOf = (arn: string) => "vol-" + createHash("sha256").update(arn).digest("hex").slice(0, 17);
    for (const arn of arns) {
      const id = arn.split("/").pop()!;
      const volume = volumeOf(arn);
      const mine = grants.filter((g) => g.Constraints?.EncryptionContextSubset?.["aws:ebs:id"] === volume);
      expect(mine).toHaveLength(1);
      expect(mine[0].Name).toBeUndefined();
      await go(`/clusters/story/tasks/${id}`);
      await page.waitForSelector(`#task-volume:has-text('${volume}')`);
      // only its own volume and grant, though both tasks' grants were made in the same moments
      await expect.poll(() => page.textContent("#task-volume"), { timeout: 60_000 }).toBe(volume);
      await expect.poll(() => page.locator("#content table:has(caption:has-text('Grants')) tbody tr").count(), { timeout: 60_000 }).toBe(1);
      expect(await page.textContent("#content table:has(caption:has-text('Grants')) tbody tr")).toContain(mine[0].GrantId!.slice(0, 12));
      await go("/map/story");
      await page.waitForSelector(`.story-map a.node-volume[data-task='${id}']`, { state: "attached" });
      await expect.poll(() => page.locator(`.story-map a.node-volume[data-task='${id}']`).count(), { timeout: 60_000 }).toBe(1);
      expect(await page.textContent(`.story-map a.node-volume[data-task='${id}']`)).toContain(volume);
      expect(await page.locator(`.story-map a.node-grant[data-task='${id}']`).count()).toBe(1);
    }
    await shot("map-pair");
    for (const arn of arns) await ecs.send(new StopTaskCommand({ cluster: "story", task: arn }));
    for (const arn of arns) await waitTask(ecs, "story", arn, stopped);
    // a stopped task's grant is retired, but the record of its creation names the task's volume
    const first = arns[0].split("/").pop()!;
    await go(`/clusters/story/tasks/${first}`);
    await page.waitForSelector("#task-status:has-text('STOPPED')");
    await page.click('a:has-text("CreateGrant for this task\'s volume")');
    await page.waitForSelector("#content .events-table tbody tr:has-text('CreateGrant')");
    await expect.poll(() => page.locator("#content .events-table tbody tr").count(), { timeout: 60_000 }).toBe(1);
    await page.locator("#content .events-table tbody tr button.toggle").first().click();
    await page.waitForSelector(`#content tr.record pre:has-text('${volumeOf(arns[0])}')`);
  });

  it("runs a task on the key, then disables the key in the console and sees a new task fail with its stop reason", async () => {
    const td = await registerSleeper(ecs, "story-app");
    const run = async () => (await ecs.send(new RunTaskCommand({ cluster: "story", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0].taskArn!;
    const first = await waitTask(ecs, "story", await run(), running);
    const firstId = first.taskArn!.split("/").pop()!;
    await go(`/clusters/story/tasks/${firstId}`);
    await page.waitForSelector("#task-status:has-text('RUNNING')");
    expect(await page.textContent("#content")).toContain("fargate.us-east-1.amazonaws.com"); // its Decrypt grant
    await shot("task-running");
    await go("/map/story");
    await page.waitForSelector(".story-map .node-grant", { state: "attached" });
    await shot("map");
    // each node leads to its CloudTrail events: the grant's are the key's records that name it
    await page.locator(".story-map a.node-grant").first().click();
    await page.waitForSelector("#page-title:has-text('CloudTrail')");
    await page.waitForSelector("#content .events-table tbody tr:has-text('CreateGrant')");
    expect(await page.inputValue("#trail-value")).toBe(key.arn);
    expect(new Set(await page.locator("#content .events-table tbody tr td:nth-child(3)").allTextContents()).has("CreateKey")).toBe(false);
    await ecs.send(new StopTaskCommand({ cluster: "story", task: first.taskArn! }));
    await waitTask(ecs, "story", first.taskArn!, stopped);

    await go(`/keys/${key.keyId}`);
    await page.click("#disable-key");
    await page.waitForSelector("#key-state:has-text('Disabled')");
    await page.waitForSelector("#notice:has-text('disabled')");
    await shot("key-disabled");

    const failed = await waitTask(ecs, "story", await run(), stopped);
    const id = failed.taskArn!.split("/").pop()!;
    await go("/clusters/story");
    await page.waitForSelector(`tr:has-text('${id}') .stop-reason:has-text('is disabled')`);
    await go(`/clusters/story/tasks/${id}`);
    await page.waitForSelector("#stop-reason");
    expect(await page.textContent("#stop-reason")).toBe(`TaskFailedToStart: ${failed.stoppedReason}`);
    expect(failed.stoppedReason).toContain(`KMS key ${key.arn} is disabled`);
    await shot("task-failed");
  });

  it("schedules the key's deletion, advances the service clock past the window and sees the key deleted", async () => {
    await go(`/keys/${key.keyId}`);
    await page.waitForSelector("#schedule-deletion");
    await page.fill("#deletion-days", "3"); // KMS's own refusal is shown, nothing changes
    await page.click("#schedule-deletion");
    await page.waitForSelector("#notice.error:has-text('ValidationException')");
    expect(await page.textContent("#key-state")).toBe("Disabled");
    await page.fill("#deletion-days", "7");
    await page.click("#schedule-deletion");
    // the answer: the key pending deletion, or the refusal shown (named in the failure)
    await page.waitForSelector("#key-state:has-text('PendingDeletion'), #notice:has-text('scheduled')", { timeout: 30_000 });
    await page.waitForSelector("#key-state:has-text('PendingDeletion')", { timeout: 30_000 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}; notice: ${await page.textContent("#notice")}`);
    });
    expect(await page.textContent("#deletion-date")).toMatch(/^\d{4}-\d{2}-\d{2} /);

    await go("/clock");
    await page.waitForSelector("#clock-now");
    const start = Date.parse((await page.getAttribute("#clock-now", "datetime"))!);
    await page.fill("#clock-amount", "50000"); // days: past the endpoint's 100-year bound; its refusal is shown, the clock stays
    await page.click("#clock-custom");
    await page.waitForSelector("#notice.error:has-text('ValidationException')");
    expect(Date.parse((await page.getAttribute("#clock-now", "datetime"))!)).toBeLessThan(start + 3600_000);
    await page.click("#clock-7d");
    await page.waitForSelector("#notice:has-text('advanced by 7d')");
    await page.fill("#clock-amount", "2");
    await page.selectOption("#clock-unit", "hours");
    await page.click("#clock-custom");
    await page.waitForSelector("#notice:has-text('advanced by 2 hours')");
    // (polled from here: the page's CSP forbids the eval waitForFunction polls with)
    await expect.poll(async () => Date.parse((await page.getAttribute("#clock-now", "datetime"))!), { timeout: 60_000 }).toBeGreaterThanOrEqual(start + (7 * 24 + 2) * 3600_000);
    // (polled from here: the page's CSP forbids the eval waitForFunction polls with)
    await expect.poll(async () => Date.parse((await page.getAttribute("#header-clock", "datetime"))!), { timeout: 60_000 }).toBeGreaterThanOrEqual(start + (7 * 24 + 2) * 3600_000);
    await shot("clock");

    await go(`/keys/${key.keyId}`);
    await page.waitForSelector("#content .error:has-text('NotFoundException')");
    await go("/keys");
    await page.waitForSelector("#content table");
    expect(await page.textContent("#content")).not.toContain(key.keyId);
  });

  it("filters CloudTrail to the Fargate events and expands a record", async () => {
    await go("/trail");
    await page.waitForSelector("#content tbody tr");
    expect(await page.textContent("#content")).toContain("CreateKey");
    await page.click("#trail-fargate-preset");
    await page.waitForSelector("#content tbody tr:has-text('CreateGrant')");
    // the table is redrawn by live updates: read it once it holds the filtered rows
    const column = (n: number) => page.locator(`#content .events-table tbody tr td:nth-child(${n})`).allTextContents();
    await expect.poll(async () => new Set(await column(4)), { timeout: 60_000 }).toEqual(new Set(["kms.amazonaws.com"]));
    let names = new Set<string>();
    await expect.poll(async () => (names = new Set(await column(3))).size, { timeout: 60_000 }).toBeGreaterThan(0);
    expect(names.has("CreateKey")).toBe(false);
    expect(names.has("RetireGrant")).toBe(true);
    await page.locator("#content .events-table tbody tr:not(.failed):has-text('CreateGrant') button.toggle").first().click();
    await page.waitForSelector("#content tr.record pre:has-text('ec2-frontend-api.amazonaws.com')");
    await shot("cloudtrail");

    // trails and their delivery status
    await createTrailBucket(new S3Client({ ...server.config, forcePathStyle: true }), "console-trail");
    const ct = new CloudTrailClient(server.config);
    await ct.send(new CreateTrailCommand({ Name: "audit", S3BucketName: "console-trail" }));
    await ct.send(new StartLoggingCommand({ Name: "audit" }));
    await server.advanceClock(600); // a delivery falls due
    await page.waitForSelector("#content tr:has-text('audit'):has-text('console-trail') .badge-active");
    expect(await page.locator("#content tr:has-text('audit') td").nth(3).textContent()).toMatch(/^\d{4}-/);
  });

  it("draws a service's deployments", async () => {
    const td = await registerSleeper(ecs, "web-app");
    await ecs.send(new CreateClusterCommand({ clusterName: "web" }));
    await ecs.send(
      new CreateServiceCommand({
        cluster: "web",
        serviceName: "web",
        taskDefinition: td,
        desiredCount: 2,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
      }),
    );
    await go("/clusters/web/services/web");
    await page.waitForSelector(".chart svg path.floor", { state: "attached" });
    await page.waitForSelector("#content td:has-text('PRIMARY')");
    await page.waitForSelector("#content dd:has-text('2 / 2 / 0')");
    await page.waitForTimeout(2500); // samples of the steady state first
    // a rolling deployment to a new revision: a second line appears beside the first
    const td2 = await registerSleeper(ecs, "web-app");
    await ecs.send(new UpdateServiceCommand({ cluster: "web", service: "web", taskDefinition: td2 }));
    await expect.poll(() => page.locator(".chart path.series").count(), { timeout: 60_000 }).toBe(2);
    await page.waitForSelector("#content td:has-text('web-app:2')");
    await page.waitForTimeout(4500); // a few more samples for the screenshot
    await shot("service");
  });

  it("shows an identity's AccessDenied in red, and highlights it in CloudTrail", async () => {
    const iam = new IAMClient(server.config);
    await iam.send(new CreateUserCommand({ UserName: "viewer" }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: "viewer" }))).AccessKey!;
    const other = await browser.newPage();
    await other.goto(consoleUrl);
    await other.fill("#access-key-id", k.AccessKeyId!);
    await other.fill("#secret-access-key", k.SecretAccessKey!);
    await other.click("#signin");
    await other.waitForSelector("#identity:has-text('arn:aws:iam::000000000000:user/viewer')");
    await other.waitForSelector("#content .error.denied:has-text('AccessDeniedException')");
    // the page asks ListKeys and ListAliases at once: the first refusal is shown
    expect(await other.textContent("#content")).toMatch(/user\/viewer is not authorized to perform: kms:List(Keys|Aliases)/);
    await other.close();

    await go("/trail?attr=Username&value=viewer");
    await page.waitForSelector("#content tr.denied:has-text('ListKeys')");
    await shot("cloudtrail-denied");
  });

  it("switches Region and, through AssumeRole, account", async () => {
    await go("/account");
    await page.waitForSelector("#identity-arn");
    await page.selectOption("#region", "eu-west-1");
    await page.waitForSelector("#content dd:has-text('eu-west-1')");
    await go("/clusters");
    await page.waitForSelector("#content td.empty"); // no clusters in eu-west-1
    await page.selectOption("#region", "us-east-1");
    await page.waitForSelector("#content a:has-text('story')");

    // a role in account 111111111111 that trusts account 000000000000, assumed by a user there
    const iam2 = new IAMClient(server.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }));
    const trust = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::000000000000:root" }, Action: "sts:AssumeRole" }] };
    await iam2.send(new CreateRoleCommand({ RoleName: "Auditor", AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const iam = new IAMClient(server.config);
    await iam.send(new CreateUserCommand({ UserName: "auditor" }));
    const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] };
    await iam.send(new PutUserPolicyCommand({ UserName: "auditor", PolicyName: "assume", PolicyDocument: JSON.stringify(policy) }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: "auditor" }))).AccessKey!;
    const other = await browser.newPage();
    other.setDefaultTimeout(8000);
    await other.goto(consoleUrl);
    await other.fill("#access-key-id", k.AccessKeyId!);
    await other.fill("#secret-access-key", k.SecretAccessKey!);
    await other.click("#signin");
    await other.waitForSelector("#identity:has-text('user/auditor')");
    await other.evaluate(`location.hash = "/account"`);
    await other.fill("#role-arn", "arn:aws:iam::111111111111:role/Auditor");
    await other.click("#assume-role");
    await other.waitForSelector("#identity:has-text('arn:aws:sts::111111111111:assumed-role/Auditor/console')");
    await other.waitForSelector("#identity-arn:has-text('111111111111')");
    await other.fill("#role-arn", "arn:aws:iam::111111111111:role/Missing");
    await other.click("#assume-role");
    await other.waitForSelector("#notice.error");
    await other.click("#back-to-base");
    await other.waitForSelector("#identity:has-text('user/auditor')");
    await other.close();
  });

  it("lists the organization's accounts and switches to one through OrganizationAccountAccessRole, or says why it cannot", async () => {
    // the root user of 000000000000, in no organization yet: Organizations' own refusal is shown
    await go("/clusters");
    await go("/account");
    await page.waitForSelector("#org-accounts-error:has-text('AWSOrganizationsNotInUseException')");
    const org = new OrganizationsClient(server.config);
    await org.send(new CreateOrganizationCommand({ FeatureSet: "ALL" }));
    const request = (await org.send(new CreateAccountCommand({ AccountName: "workloads", Email: "workloads@example.com" }))).CreateAccountStatus!;
    const member = (await org.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: request.Id }))).CreateAccountStatus!.AccountId!;

    // an IAM user of the management account that may assume roles but not list accounts
    const iam = new IAMClient(server.config);
    await iam.send(new CreateUserCommand({ UserName: "operator" }));
    const assumeOnly = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] };
    await iam.send(new PutUserPolicyCommand({ UserName: "operator", PolicyName: "assume", PolicyDocument: JSON.stringify(assumeOnly) }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: "operator" }))).AccessKey!;
    const other = await browser.newPage();
    await other.goto(consoleUrl);
    await other.fill("#access-key-id", k.AccessKeyId!);
    await other.fill("#secret-access-key", k.SecretAccessKey!);
    await other.click("#signin");
    await other.waitForSelector("#identity:has-text('user/operator')");
    await other.evaluate(`location.hash = "/account"`);
    await other.waitForSelector("#org-accounts-error.denied:has-text('AccessDeniedException')");
    expect(await other.textContent("#org-accounts-error")).toContain("organizations:ListAccounts");

    // allowed to list them: the organization's accounts, each with a switch
    const list = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "organizations:ListAccounts", Resource: "*" }] };
    await iam.send(new PutUserPolicyCommand({ UserName: "operator", PolicyName: "list", PolicyDocument: JSON.stringify(list) }));
    await other.evaluate(`location.hash = "/clusters"`);
    await other.evaluate(`location.hash = "/account"`);
    await other.waitForSelector(`#switch-${member}`);
    expect(await other.textContent("#content")).toContain("workloads@example.com");
    expect(await other.locator("#content button.switch-account").count()).toBe(1); // not the signed-in account itself
    await other.screenshot({ path: join(SHOTS, "organization-accounts.png"), fullPage: true });

    // a role name the account does not have: STS's refusal is shown, the identity stays
    await other.fill("#org-role-name", "NoSuchRole");
    await other.click(`#switch-${member}`);
    await other.waitForSelector("#notice.error");
    expect(await other.textContent("#identity")).toContain("user/operator");
    // the role Organizations made in the account
    await other.fill("#org-role-name", "OrganizationAccountAccessRole");
    await other.click(`#switch-${member}`);
    await other.waitForSelector(`#identity:has-text('arn:aws:sts::${member}:assumed-role/OrganizationAccountAccessRole/console')`);
    await other.waitForSelector(`#identity-account:has-text('${member}')`);
    // still listed through the signed-in identity while working in the member account
    await other.waitForSelector(`#content td:has-text('the signed-in account')`);
    await other.click("#back-to-base");
    await other.waitForSelector("#identity:has-text('user/operator')");
    await other.close();

    // a member account registered as delegated administrator lists them too
    await org.send(new EnableAWSServiceAccessCommand({ ServicePrincipal: "config.amazonaws.com" }));
    await org.send(new RegisterDelegatedAdministratorCommand({ AccountId: member, ServicePrincipal: "config.amazonaws.com" }));
    const delegate = await browser.newPage();
    await delegate.goto(consoleUrl);
    await delegate.fill("#access-key-id", member);
    await delegate.fill("#secret-access-key", "test");
    await delegate.click("#signin");
    await delegate.waitForSelector(`#identity:has-text('${member}')`);
    await delegate.evaluate(`location.hash = "/account"`);
    await delegate.waitForSelector("#switch-000000000000");
    expect(await delegate.textContent("#content")).toContain("workloads@example.com");
    await delegate.close();

    // a closed account is listed CLOSED, with no switch into it
    const retiredRequest = (await org.send(new CreateAccountCommand({ AccountName: "retired", Email: "retired@example.com" }))).CreateAccountStatus!;
    const retired = (await org.send(new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: retiredRequest.Id }))).CreateAccountStatus!.AccountId!;
    await org.send(new CloseAccountCommand({ AccountId: retired }));
    await go("/clusters");
    await go("/account");
    await page.waitForSelector(`#closed-${retired}:has-text('closed')`);
    expect(await page.locator(`#switch-${retired}`).count()).toBe(0);
    await page.waitForSelector(`#switch-${member}`);
  });

  it("is keyboard navigable and follows the dark preference", async () => {
    await go("/clusters");
    await page.waitForSelector("#content a:has-text('story')");
    await page.reload(); // the session is in sessionStorage: still signed in, focus at the top
    await page.waitForSelector("#content a:has-text('story')");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(`document.activeElement.textContent`)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(`document.activeElement.textContent`)).toBe("ECS clusters");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Enter"); // "KMS keys"
    await page.waitForSelector("#page-title:has-text('KMS keys')");
    await page.emulateMedia({ colorScheme: "dark" });
    const bg = await page.evaluate(`getComputedStyle(document.body).backgroundColor`);
    expect(bg).toBe("rgb(15, 20, 25)");
    await go("/clusters/story");
    await page.waitForSelector("#cluster-key");
    await shot("cluster-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("shows a task's output when the server has the task output endpoint, and no output section otherwise", async () => {
    const probe = await fetch(`${server.url}/_localfargate/logs`);
    const hasEndpoint = probe.status !== 404;
    const td = await registerSleeper(ecs, "echo-app", [
      { name: "main", image: "busybox", command: ["sh", "-c", "echo hello from the console test; sleep 300"], essential: true, stopTimeout: 2 },
    ]);
    const arn = (await ecs.send(new RunTaskCommand({ cluster: "web", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0].taskArn!;
    await waitTask(ecs, "web", arn, running);
    await go(`/clusters/web/tasks/${arn.split("/").pop()}`);
    await page.waitForSelector("#task-status:has-text('RUNNING')");
    if (hasEndpoint) {
      await page.waitForSelector("#task-output:has-text('hello from the console test')");
      await shot("task-output");
    } else {
      await page.waitForTimeout(2500); // a poll or two
      expect(await page.locator("#task-output").count()).toBe(0);
    }
    await ecs.send(new StopTaskCommand({ cluster: "web", task: arn }));
  });
});
