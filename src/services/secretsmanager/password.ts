/**
 * GetRandomPassword (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html):
 * 32 characters by default, from upper and lower case letters, digits and punctuation, each
 * included type at least once unless RequireEachIncludedType is false; drawn with node:crypto.
 */
import { randomInt } from "node:crypto";
import type { GetRandomPasswordRequest, GetRandomPasswordResponse } from "@aws-sdk/client-secrets-manager";
import { defineOperation } from "../../kernel/operation.ts";
import { anyResourceCheck } from "./checks.ts";
import { err } from "./state.ts";

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

export function randomPassword(i: GetRandomPasswordRequest): string {
  const length = i.PasswordLength ?? 32;
  const exclude = new Set(i.ExcludeCharacters ?? "");
  const keep = (set: string) => [...set].filter((c) => !exclude.has(c)).join("");
  const groups = [
    i.ExcludeUppercase ? "" : keep(UPPER),
    i.ExcludeLowercase ? "" : keep(LOWER),
    i.ExcludeNumbers ? "" : keep(DIGITS),
    i.ExcludePunctuation ? "" : keep(PUNCTUATION),
    i.IncludeSpace ? keep(" ") : "",
  ].filter((g) => g.length);
  const all = groups.join("");
  if (!all.length) throw err.invalidParameter("The password can't be generated: every character is excluded.");
  const requireEach = i.RequireEachIncludedType ?? true;
  if (requireEach && groups.length > length) throw err.invalidParameter("The password length is too short to include a character of each included type.");
  const chars: string[] = [];
  if (requireEach) for (const g of groups) chars.push(g[randomInt(g.length)]);
  while (chars.length < length) chars.push(all[randomInt(all.length)]);
  for (let n = chars.length - 1; n > 0; n--) {
    const m = randomInt(n + 1);
    [chars[n], chars[m]] = [chars[m], chars[n]];
  }
  return chars.join("");
}

export function getRandomPasswordOperation() {
  return defineOperation<GetRandomPasswordRequest, GetRandomPasswordResponse, undefined>({
    readOnly: true,
    authorize: () => [anyResourceCheck("GetRandomPassword")],
    handler: function getRandomPassword(_ctx, i) {
      return { RandomPassword: randomPassword(i) };
    },
    // the password is a secret: CloudTrail records no response elements
    audit: { responseElements: () => null },
  });
}
