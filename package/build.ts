/**
 * Builds what `npm pack` ships (run by `prepack`, or `npm run build`), into `dist/`:
 * - `index.js`: the construct library (lib/), compiled to one ES module; aws-cdk-lib, constructs
 *   and zod stay the consumer's (peer dependencies, and zod for the configuration's types);
 * - `types/`: the declarations the library's entry reaches, and nothing else;
 * - `assets/<handler>/index.mjs`: each Lambda handler bundled exactly as `NodejsFunction` bundles it
 *   in a clone, so a consumer's app needs neither esbuild nor these sources;
 * - `cli.js`: the operators' command, bundled with its AWS SDK clients.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { HANDLER_BUNDLING } from "../lib/functions.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
/** What the consumer provides: bundling them would make two copies of CDK's classes. */
const PROVIDED = ["aws-cdk-lib", "aws-cdk-lib/*", "constructs", "zod", "zod/*"];

/** Each file at the top of `handlers/` is one Lambda entry point. */
function handlerEntries(): string[] {
  return fs
    .readdirSync(path.join(root, "handlers"))
    .filter((file) => file.endsWith(".ts"))
    .sort();
}

async function buildHandlers(): Promise<void> {
  for (const file of handlerEntries()) {
    await build({
      entryPoints: [path.join(root, "handlers", file)],
      outfile: path.join(dist, "assets", path.basename(file, ".ts"), "index.mjs"),
      bundle: true,
      minify: true,
      sourcemap: true,
      // Stack traces need only the mappings (NODE_OPTIONS=--enable-source-maps); the sources
      // themselves would triple the package.
      sourcesContent: false,
      format: "esm",
      platform: "node",
      target: HANDLER_BUNDLING.target,
      mainFields: [...HANDLER_BUNDLING.mainFields],
      banner: { js: HANDLER_BUNDLING.banner },
      logLevel: "warning",
    });
  }
}

async function buildLibrary(): Promise<void> {
  await build({
    entryPoints: [path.join(root, "lib", "index.ts")],
    outfile: path.join(dist, "index.js"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: PROVIDED,
    banner: { js: HANDLER_BUNDLING.banner },
    logLevel: "warning",
  });
}

async function buildCli(): Promise<void> {
  await build({
    entryPoints: [path.join(root, "cli", "main.ts")],
    outfile: path.join(dist, "cli.js"),
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node20",
    mainFields: ["module", "main"],
    banner: { js: HANDLER_BUNDLING.banner },
    logLevel: "warning",
  });
}

/** The declarations, then only those the entry's reach: the rest name modules a consumer lacks. */
function buildTypes(): void {
  const types = path.join(dist, "types");
  execFileSync(
    process.execPath,
    [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const [, spec] of fs.readFileSync(file, "utf8").matchAll(/(?:from |import\()"(\.[^"]+)"/g)) {
      visit(path.resolve(path.dirname(file), (spec ?? "").replace(/\.js$/, ".d.ts")));
    }
  };
  visit(path.join(types, "lib", "index.d.ts"));
  const prune = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        prune(full);
        if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
      } else if (!reached.has(full)) fs.rmSync(full);
    }
  };
  prune(types);
}

fs.rmSync(dist, { recursive: true, force: true });
await Promise.all([buildHandlers(), buildLibrary(), buildCli()]);
buildTypes();
console.log(
  `built ${path.relative(process.cwd(), dist) || "."}: ${handlerEntries().length} handlers, the library, the command and its types`,
);
