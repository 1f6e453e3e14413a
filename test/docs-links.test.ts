/**
 * Every relative link in the README and under docs/ leads somewhere: to a file of the repository,
 * and, with an anchor, to a heading of that page (GitHub's anchors: lower case, punctuation
 * dropped, spaces as hyphens).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

function pages(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? walk(full) : name.endsWith(".md") ? [full] : [];
    });
  return [path.join(root, "README.md"), ...walk(path.join(root, "docs"))];
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[^\p{L}\p{N} -]/gu, "")
    .replace(/ /g, "-");
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? "")));
}

function linksOf(file: string): string[] {
  const text = readFileSync(file, "utf8")
    .replace(/```[\s\S]*?```/g, "")
    .replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? "")
    .filter((target) => !/^(https?:|mailto:)/.test(target));
}

describe("documentation links", () => {
  it("resolve, each relative link to a file and each anchor to a heading", () => {
    // Prepare
    const broken: string[] = [];

    // Act
    for (const page of pages()) {
      for (const link of linksOf(page)) {
        const [target = "", anchor] = link.split("#");
        const file = target === "" ? page : path.resolve(path.dirname(page), target);
        if (!existsSync(file)) {
          broken.push(`${path.relative(root, page)}: ${link} (no such file)`);
          continue;
        }
        if (anchor && file.endsWith(".md") && !anchorsOf(file).has(anchor)) {
          broken.push(`${path.relative(root, page)}: ${link} (no such heading)`);
        }
      }
    }

    // Assess
    expect(broken).toEqual([]);
  });

  it("reach every identity source's set-up page from the README in one click", () => {
    // Prepare
    const linked = new Set(linksOf(path.join(root, "README.md")).map((l) => l.split("#")[0]));

    // Act
    const sources = readdirSync(path.join(root, "docs", "sources"))
      .filter((name) => name !== "README.md")
      .map((name) => `docs/sources/${name}`);

    // Assess
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.filter((page) => !linked.has(page))).toEqual([]);
  });
});
