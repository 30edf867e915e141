#!/usr/bin/env node
// The `vela` command: runs the TypeScript CLI through tsx, so no build step stands between a clone and
// a running server.
import { register } from "tsx/esm/api";

register();
await import("../cli/vela.ts");
