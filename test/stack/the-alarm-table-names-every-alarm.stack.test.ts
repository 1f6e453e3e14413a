/**
 * docs/deploy.md's alarm table is what an on-call reads when paged: it names every alarm the stack
 * makes with every optional feature on, and nothing the stack does not make.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";

/** The names in the first column of the table under "## Alarms", a `<Source><Rule>` row as a pattern. */
function documentedAlarms(): RegExp[] {
  const deploy = fs.readFileSync(new URL("../../docs/deploy.md", import.meta.url), "utf8");
  const section = deploy.split(/^## Alarms$/m)[1]?.split(/^## /m)[0] ?? "";
  return (
    section
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      // The names come before any parenthesis, which says when the alarm is made.
      .map((line) => (line.split(" | ")[0] ?? "").split(" (")[0] ?? "")
      .flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ""))
      .filter((name) => /^[A-Z<]/.test(name))
      .map((name) => new RegExp(`^${name.replace(/<[A-Za-z]+>/g, "[A-Za-z0-9]+")}$`))
  );
}

describe("the alarm table in docs/deploy.md", () => {
  it("names every alarm of a stack with every feature on, and no alarm it does not make", () => {
    // Prepare
    const template = synthFullFeatured();
    const documented = documentedAlarms();

    // Act: the logical ids less the construct's prefix, "Alarm" and CDK's hash
    const made = Object.keys(template.findResources("AWS::CloudWatch::Alarm")).map((id) =>
      id.replace(/^Sync/, "").replace(/Alarm[0-9A-F]{8}$/, ""),
    );

    // Assess
    expect(made.filter((name) => !documented.some((pattern) => pattern.test(name)))).toEqual([]);
    expect(documented.filter((pattern) => !made.some((name) => pattern.test(name))).map(String)).toEqual([]);
  });
});
