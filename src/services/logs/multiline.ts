/**
 * The awslogs driver's `awslogs-multiline-pattern` and `awslogs-datetime-format` options
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html): a line that
 * matches the pattern starts a new event, and the lines after it that do not match join that
 * event. The date-time format is a strftime pattern, matched at the start of a line.
 *
 * The pattern is the task definition author's, and it runs on the server for every line a
 * container writes, so it is compiled with V8's linear-time engine (the `l` flag): like the RE2
 * engine Docker's driver uses, it has no backreferences or lookaround, and no pattern can make
 * matching take more than linear time.
 */
import { setFlagsFromString } from "node:v8";

// Only makes the `l` flag available; no other regular expression changes engine.
setFlagsFromString("--enable-experimental-regexp-engine");

/** strftime directives → what they match, as Docker's awslogs driver reads them */
const DIRECTIVES: Record<string, string> = {
  a: "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)",
  A: "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
  b: "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
  B: "(?:January|February|March|April|May|June|July|August|September|October|November|December)",
  d: "(?:0[1-9]|[12][0-9]|3[01])",
  f: "(?:[0-9]{6})",
  H: "(?:[01][0-9]|2[0-4])",
  I: "(?:0[0-9]|1[0-2])",
  j: "(?:00[1-9]|0[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])",
  L: "(?:\\.[0-9]{3})",
  m: "(?:0[1-9]|1[0-2])",
  M: "(?:[0-5][0-9])",
  p: "(?:AM|PM)",
  S: "(?:[0-5][0-9]|60)",
  y: "(?:[0-9]{2})",
  Y: "(?:[0-9]{4})",
  z: "(?:[+-][0-9]{4})",
  Z: "(?:[A-Z]{1,4}T)",
  "%": "%",
};

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** The regular expression source a strftime format stands for, anchored at the start of the line. */
export function datetimeFormatSource(format: string): string {
  let out = "^";
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c === "%" && i + 1 < format.length && DIRECTIVES[format[i + 1]] !== undefined) {
      out += DIRECTIVES[format[++i]];
    } else out += escape(c);
  }
  return out;
}

/**
 * The pattern that starts an event, from the driver's options; undefined when neither option is
 * given. Throws an Error naming the problem (the driver turns it into the task's stop reason).
 */
export function eventStartPattern(options: Record<string, string | undefined>): RegExp | undefined {
  const format = options["awslogs-datetime-format"];
  const pattern = options["awslogs-multiline-pattern"];
  if (format !== undefined && pattern !== undefined) {
    throw new Error("you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time");
  }
  if (format !== undefined) return linear(datetimeFormatSource(format), "awslogs-datetime-format");
  if (pattern !== undefined) return linear(pattern, "awslogs-multiline-pattern");
  return undefined;
}

function linear(source: string, option: string): RegExp {
  try {
    // "l": the linear-time engine, which ESLint's list of flags does not know yet
    return new RegExp(source, "l" as string);
  } catch (e) {
    throw new Error(`awslogs could not parse ${option} (${source}): ${(e as Error).message}`);
  }
}
