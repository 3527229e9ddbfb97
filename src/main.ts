#!/usr/bin/env node
import { serve } from './serve.js';

/** `npm start`: the gateway (see serve.ts; the `mqgate` CLI offers the same as `mqgate serve`). */
serve().catch((err: unknown) => {
  process.stderr.write(`mqgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
