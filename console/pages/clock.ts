/** The service clock (docs/server.md): show it and move it forward; due deletions and rotations run at once. */
import { advanceClock, clockNow } from "../aws.ts";
import { h, time } from "../dom.ts";
import { act, type Page } from "../page.ts";

const UNITS: Record<string, number> = { minutes: 60, hours: 3600, days: 86400 };

export const clockPage: Page = {
  title: "Service clock",
  controls(ctx) {
    const step = (label: string, seconds: number, id: string) =>
      h("button", { id, onclick: () => act(ctx, `Clock advanced by ${label}.`, () => advanceClock(seconds)) }, `+${label}`);
    const amount = h("input", { id: "clock-amount", type: "number", min: 0, step: "any", value: 1, "aria-label": "Amount" });
    const unit = h(
      "select",
      { id: "clock-unit", "aria-label": "Unit" },
      Object.keys(UNITS).map((u) => h("option", { value: u, selected: u === "days" }, u)),
    );
    return h(
      "div",
      {},
      h("div", { class: "actions" }, step("1h", 3600, "clock-1h"), step("1d", 86400, "clock-1d"), step("7d", 7 * 86400, "clock-7d"), step("30d", 30 * 86400, "clock-30d")),
      h(
        "form",
        {
          class: "inline-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            const seconds = Number(amount.value) * UNITS[unit.value];
            void act(ctx, `Clock advanced by ${amount.value} ${unit.value}.`, () => advanceClock(seconds));
          },
        },
        h("label", { for: "clock-amount" }, "Advance by"),
        amount,
        unit,
        h("button", { type: "submit", id: "clock-custom" }, "Advance"),
      ),
      h(
        "p",
        { class: "muted" },
        "Moving the clock runs what falls due at once: keys whose deletion date passes are deleted, due rotations happen, trails deliver. The clock only moves forward.",
      ),
    );
  },
  async load() {
    return { now: await clockNow() };
  },
  view(data) {
    const now = (data as { now: string }).now;
    return h("p", { class: "clock-big" }, "Service time: ", h("time", { id: "clock-now", datetime: now }, time(now)));
  },
};
