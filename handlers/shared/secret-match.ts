/**
 * Whether a value a provider echoes (Graph's `clientState`, Google's channel token) is one of the
 * accepted secrets, in time that depends on neither: both sides are hashed to the same length
 * first, and every secret is compared, so timing says nothing about any of them.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

export function matchesAnySecret(presented: string | undefined, secrets: readonly string[]): boolean {
  const candidate = digest(presented ?? "");
  let matched = false;
  for (const secret of secrets) {
    if (secret !== "" && timingSafeEqual(candidate, digest(secret)) && presented !== undefined)
      matched = true;
  }
  return matched;
}
