#!/usr/bin/env node
// The `rendley-relay` command. Node 20 cannot run TypeScript itself: tsx compiles src/ on the fly.
import { register } from "tsx/esm/api";

register();
const { runCli } = await import("../src/cli/main.ts");
process.exit(await runCli(process.argv.slice(2)));
