/**
 * The rules of the house (docs in README "Layout"), checked on the source text so a change that
 * breaks one fails here, naming the file and the import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SOURCE_CONFIG_SCHEMAS } from "../handlers/sources/configs.js";
import { SOURCES } from "../handlers/sources/index.js";

/** Objects that are only data: building one on import does no work worth forbidding. */
const PLAIN_DATA = new Set(["Set", "Map", "WeakMap", "RegExp"]);

const root = path.resolve(import.meta.dirname, "..");

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const relative = path.join(dir, name);
    if (statSync(path.join(root, relative)).isDirectory()) return filesUnder(relative);
    return name.endsWith(".ts") ? [relative] : [];
  });
}

/** The modules a file imports at run time (`import type` and `export type` are left out). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(path.join(root, file), "utf8");
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)";/gms)) {
    specifiers.push(match[1] as string);
  }
  for (const match of text.matchAll(/^import\s+"([^"]+)";/gm)) specifiers.push(match[1] as string);
  return specifiers;
}

/** A relative specifier as a path from the repository root. */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return path.normalize(path.join(path.dirname(from), specifier)).replace(/\.js$/, ".ts");
}

/** `[file, imported]` for every run-time import of the files under `dir`. */
function edges(dir: string): [string, string][] {
  return filesUnder(dir).flatMap((file) =>
    runtimeImports(file).map((specifier): [string, string] => [file, resolve(file, specifier) ?? specifier]),
  );
}

/** Every project module the files reach, through any chain of run-time imports. */
function reachedFrom(files: readonly string[]): Set<string> {
  const reached = new Set<string>();
  const visit = (file: string) => {
    for (const specifier of runtimeImports(file)) {
      const target = resolve(file, specifier);
      if (target && !reached.has(target)) {
        reached.add(target);
        visit(target);
      }
    }
  };
  for (const file of files) visit(file);
  return reached;
}

describe("the house", () => {
  it("keeps the domain free of AWS: no SDK, Powertools or aws-lambda in handlers/core", () => {
    // Prepare
    const allText = filesUnder("handlers/core").map((file) => [
      file,
      readFileSync(path.join(root, file), "utf8"),
    ]);

    // Act
    const offending = allText.flatMap(([file, text]) =>
      [
        ...(text as string).matchAll(
          /from\s+"((?:@aws-sdk|@aws-lambda-powertools|aws-lambda|aws-cdk-lib)[^"]*)"/g,
        ),
      ].map((m) => `${file} -> ${m[1]}`),
    );

    // Assess
    expect(offending).toEqual([]);
  });

  it("keeps handlers/core and handlers/sources off handlers/runtime", () => {
    // Act
    const offending = [...edges("handlers/core"), ...edges("handlers/sources")]
      .filter(([, target]) => target.startsWith("handlers/runtime/"))
      .map(([file, target]) => `${file} -> ${target}`);

    // Assess
    expect(offending).toEqual([]);
  });

  it("keeps the directory a store only: it imports core/, contracts/ and the DynamoDB SDK, nothing of Tallyfy, sources or runtime", () => {
    // Act
    const offending = edges("handlers/directory")
      .filter(
        ([, target]) =>
          !/^(handlers\/core\/|handlers\/contracts\/|handlers\/directory\/|@aws-sdk\/(client|lib)-dynamodb$|node:)/.test(
            target,
          ),
      )
      .map(([file, target]) => `${file} -> ${target}`);

    // Assess
    expect(filesUnder("handlers/directory").length).toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });

  it("lets no source import another source", () => {
    // Act
    const offending = edges("handlers/sources")
      .filter(([file]) => file.split(path.sep).length > 3)
      .filter(([file, target]) => {
        const own = file.split(path.sep)[2];
        const parts = target.split(path.sep);
        return parts[0] === "handlers" && parts[1] === "sources" && parts.length > 3 && parts[2] !== own;
      })
      .map(([file, target]) => `${file} -> ${target}`);

    // Assess
    expect(offending).toEqual([]);
  });

  it("lets lib/ import only contracts that create nothing on import: no runtime/, no full-sync engine, no object built at top level", () => {
    // Prepare
    const handlers = [...reachedFrom(filesUnder("lib"))].filter((file) => file.startsWith("handlers/"));

    // Act
    const offending = handlers.flatMap((file) => {
      const text = readFileSync(path.join(root, file), "utf8");
      const problems: string[] = [];
      if (file.startsWith("handlers/runtime/")) problems.push(`${file}: runtime glue`);
      if (file.startsWith("handlers/full-sync/")) problems.push(`${file}: the full-sync engine`);
      // A top-level `new` (a logger, a client) runs when the module is imported.
      for (const m of text.matchAll(/^(?:export\s+)?(?:const|let|var)\s+\w+[^=\n]*=\s*new\s+(\w+)/gm)) {
        if (!PLAIN_DATA.has(m[1] as string)) problems.push(`${file}: creates a ${m[1]} on import`);
      }
      for (const m of text.matchAll(
        /from\s+"(@aws-lambda-powertools\/(?:logger|metrics)|@aws-sdk\/client-[^"]+)"/g,
      ))
        problems.push(`${file}: imports ${m[1]}`);
      return problems;
    });

    // Assess
    expect(handlers.length).toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });

  it("keeps the sources' code out of the apply function: it reaches their configuration schemas only", () => {
    // Prepare
    const reached = [...reachedFrom(["handlers/apply.ts"])];

    // Act
    const sourceCode = reached.filter(
      (file) =>
        file.startsWith(path.join("handlers", "sources")) &&
        file !== path.join("handlers", "sources", "configs.ts") &&
        path.basename(file) !== "config.ts",
    );

    // Assess
    expect(reached).toContain(path.join("handlers", "sources", "configs.ts"));
    expect(sourceCode).toEqual([]);
  });

  it("registers in configs.ts exactly the configuration schemas the sources carry", () => {
    // Act
    const carried = Object.fromEntries(
      SOURCES.flatMap((source) => (source.configSchema ? [[source.id, source.configSchema]] : [])),
    );

    // Assess: the same objects under the same keys, in the registry's order
    expect(Object.keys(SOURCE_CONFIG_SCHEMAS)).toEqual(Object.keys(carried));
    for (const [id, schema] of Object.entries(carried))
      expect(SOURCE_CONFIG_SCHEMAS[id as keyof typeof SOURCE_CONFIG_SCHEMAS]).toBe(schema);
  });

  it("would catch a top-level logger reached from lib/ (the rule above is not vacuous)", () => {
    // Prepare
    const text = readFileSync(path.join(root, "handlers/runtime/observability.ts"), "utf8");

    // Act
    const created = [...text.matchAll(/^(?:export\s+)?(?:const|let|var)\s+\w+[^=\n]*=\s*new\s+(\w+)/gm)].map(
      (m) => m[1],
    );

    // Assess
    expect(created).toContain("Logger");
  });
});
