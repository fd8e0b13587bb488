/** The console's shell: sign-in, navigation, the Region switcher, the live clock and the router. */
import { clockNow, sts, xmlText, type CallTarget } from "./aws.ts";
import { h, time } from "./dom.ts";
import type { Ctx, Page } from "./page.ts";
import { accountPage } from "./pages/account.ts";
import { clockPage } from "./pages/clock.ts";
import { clusterPage, clustersPage } from "./pages/clusters.ts";
import { keyPage, keysPage } from "./pages/keys.ts";
import { mapPage } from "./pages/map.ts";
import { servicePage } from "./pages/service.ts";
import { taskPage } from "./pages/task.ts";
import { trailPage } from "./pages/trail.ts";
import { activeCredentials, loadSession, REGIONS, saveSession, type Session } from "./session.ts";

const ROUTES: [RegExp, Page][] = [
  [/^\/?$/, keysPage],
  [/^\/keys$/, keysPage],
  [/^\/keys\/([^/]+)$/, keyPage],
  [/^\/clusters$/, clustersPage],
  [/^\/clusters\/([^/]+)$/, clusterPage],
  [/^\/clusters\/([^/]+)\/services\/([^/]+)$/, servicePage],
  [/^\/clusters\/([^/]+)\/tasks\/([^/]+)$/, taskPage],
  [/^\/map$/, mapPage],
  [/^\/map\/([^/]+)$/, mapPage],
  [/^\/trail$/, trailPage],
  [/^\/clock$/, clockPage],
  [/^\/account$/, accountPage],
];

const NAV: [string, string][] = [
  ["/keys", "KMS keys"],
  ["/clusters", "ECS clusters"],
  ["/map", "Story map"],
  ["/trail", "CloudTrail"],
  ["/clock", "Clock"],
  ["/account", "Account"],
];

const root = document.getElementById("app")!;

function signIn(problem?: string): void {
  const akid = h("input", { id: "access-key-id", name: "accessKeyId", value: "test", autocomplete: "username", required: true });
  const secret = h("input", { id: "secret-access-key", name: "secretAccessKey", type: "password", value: "test", autocomplete: "current-password", required: true });
  const region = h(
    "select",
    { id: "signin-region", name: "region" },
    REGIONS.map((r) => h("option", { value: r }, r)),
  );
  const error = h("p", { class: "error", role: "alert", id: "signin-error" }, problem ?? "");
  const form = h(
    "form",
    {
      class: "signin",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const s: Session = { base: { accessKeyId: akid.value.trim(), secretAccessKey: secret.value }, region: region.value };
        try {
          await sts({ creds: s.base, region: s.region }, "GetCallerIdentity");
        } catch (err) {
          const x = err as { code?: string; message?: string };
          error.textContent = `${x.code ?? "Error"}: ${x.message ?? String(err)}`;
          return;
        }
        saveSession(s);
        start(s);
      },
    },
    h("h1", {}, "localfargate console"),
    h("p", { class: "muted" }, "Sign in with an access key pair. Every call the console makes is signed with it and recorded in CloudTrail."),
    h("label", { for: "access-key-id" }, "Access key ID"),
    akid,
    h("label", { for: "secret-access-key" }, "Secret access key"),
    secret,
    h("label", { for: "signin-region" }, "Region"),
    region,
    h("button", { type: "submit", id: "signin" }, "Sign in"),
    error,
  );
  root.replaceChildren(h("main", { class: "signin-wrap" }, form));
  akid.focus();
}

function parseHash(): { path: string; query: URLSearchParams } {
  const raw = location.hash.replace(/^#/, "");
  const qi = raw.indexOf("?");
  return qi >= 0 ? { path: raw.slice(0, qi), query: new URLSearchParams(raw.slice(qi + 1)) } : { path: raw, query: new URLSearchParams() };
}

function start(session: Session): void {
  const target = (): CallTarget => ({ creds: activeCredentials(session), region: session.region });
  const live = h("div", { class: "notice", role: "status", "aria-live": "polite", id: "notice" });
  const identity = h("span", { class: "identity", id: "identity" }, "…");
  const clock = h("time", { id: "header-clock" }, "…");
  const regionSelect = h(
    "select",
    {
      id: "region",
      "aria-label": "Region",
      onchange: () => {
        session.region = regionSelect.value;
        saveSession(session);
        mount();
      },
    },
    REGIONS.map((r) => h("option", { value: r, selected: r === session.region }, r)),
  );
  const nav = h(
    "nav",
    { "aria-label": "Pages" },
    NAV.map(([route, label]) => h("a", { href: `#${route}`, "data-route": route }, label)),
  );
  const signOut = h(
    "button",
    {
      id: "sign-out",
      class: "quiet",
      onclick: () => {
        saveSession(undefined);
        location.hash = "";
        stopTimers();
        signIn();
      },
    },
    "Sign out",
  );
  const title = h("h1", { id: "page-title" });
  const controls = h("div", { class: "controls" });
  const content = h("div", { id: "content", class: "content", "aria-busy": "true" });
  root.replaceChildren(
    h("a", { href: "#content", class: "skip" }, "Skip to content"),
    h(
      "header",
      {},
      h("strong", { class: "brand" }, "localfargate"),
      nav,
      h("div", { class: "who" }, identity, regionSelect, h("span", { class: "clock" }, "Service time ", clock), signOut),
    ),
    h("main", {}, title, live, controls, content),
  );

  let page: Page = keysPage;
  let ctx: Ctx;
  let lastJson = "";
  let loading = false;
  let again = false;
  let timer: number | undefined;
  let generation = 0;
  let noticeTimer: number | undefined;

  const stopTimers = () => {
    clearInterval(timer);
    clearInterval(clockTimer);
    window.removeEventListener("hashchange", mount);
  };

  const reloadIdentity = () => {
    sts(target(), "GetCallerIdentity")
      .then((r) => (identity.textContent = xmlText(r, "Arn")))
      .catch((e: Error) => (identity.textContent = e.message));
  };

  const tickClock = () => {
    if (document.hidden) return;
    clockNow()
      .then((now) => {
        clock.textContent = time(now);
        clock.setAttribute("datetime", now);
      })
      .catch(() => (clock.textContent = "unavailable"));
  };

  /** Loads the page's data and redraws when it changed (or when forced), keeping focus where it was. */
  async function load(force: boolean): Promise<void> {
    if (loading) {
      again = again || force;
      return;
    }
    loading = true;
    const gen = generation;
    try {
      const data = await page.load(ctx);
      if (gen !== generation) return;
      const json = JSON.stringify(data);
      if (!force && json === lastJson) return;
      lastJson = json;
      const focused = document.activeElement?.id;
      content.replaceChildren(page.view(data, ctx));
      if (focused && !controls.contains(document.activeElement)) document.getElementById(focused)?.focus();
    } catch (e) {
      if (gen !== generation) return;
      const x = e as { code?: string; message?: string };
      const text = `${x.code ? x.code + ": " : ""}${x.message ?? String(e)}`;
      if (lastJson !== text) content.replaceChildren(h("p", { class: x.code?.includes("AccessDenied") ? "error denied" : "error" }, text));
      lastJson = text;
    } finally {
      content.setAttribute("aria-busy", "false");
      loading = false;
      if (again && gen === generation) {
        again = false;
        void load(true);
      }
    }
  }

  function mount(): void {
    const { path, query } = parseHash();
    const found = ROUTES.find(([re]) => re.test(path));
    page = found?.[1] ?? keysPage;
    const params = found ? (found[0].exec(path)!.slice(1).map(decodeURIComponent) as string[]) : [];
    generation++;
    lastJson = "";
    loading = false;
    again = false;
    ctx = {
      target: target(),
      session,
      params,
      query,
      refresh: () => {
        ctx.target = target();
        void load(true);
        tickClock(); // an action may have moved the clock
      },
      notify: (message, kind = "ok") => {
        live.textContent = message;
        live.className = `notice ${kind}`;
        clearTimeout(noticeTimer);
        noticeTimer = window.setTimeout(() => (live.textContent = ""), 8000);
      },
      go: (route) => {
        if (`#${route}` === location.hash) mount();
        else location.hash = route;
      },
      reloadIdentity,
    };
    const t = typeof page.title === "function" ? page.title(ctx) : page.title;
    title.textContent = t;
    document.title = `${t} · localfargate`;
    for (const a of nav.querySelectorAll("a")) {
      const route = a.getAttribute("data-route")!;
      if (path === route || path.startsWith(route + "/") || (route === "/keys" && (path === "" || path === "/"))) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    controls.replaceChildren(page.controls ? page.controls(ctx) : "");
    content.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    content.setAttribute("aria-busy", "true");
    clearInterval(timer);
    const every = page.pollMs ?? 2000;
    if (every > 0) timer = window.setInterval(() => !document.hidden && void load(false), every);
    void load(true);
  }

  window.addEventListener("hashchange", mount);
  const clockTimer = window.setInterval(tickClock, 2000);
  tickClock();
  reloadIdentity();
  mount();
}

const saved = loadSession();
if (saved) start(saved);
else signIn();
