#!/usr/bin/env node
// The package's command. In a clone it runs cli/main.ts through tsx (no build step); installed
// from the package, whose tarball holds no sources, it runs the command bundled when it was packed.
import { existsSync } from "node:fs";

const clone = new URL("../cli/main.ts", import.meta.url);
let main;
if (existsSync(clone)) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(clone.href));
} else {
  ({ main } = await import(new URL("../dist/cli.js", import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
