#!/usr/bin/env node
// The `attune-db` command: a launcher that exists before the build, so that installing never links a missing file;
// the program is the built dist/bin.js (run `pnpm build` first).
import '../dist/bin.js';
