/**
 * Imported first by main.ts, before any schema is used. zod compiles its object parsers with
 * `new Function` when it may, and finds out with a probe; the server's Content-Security-Policy
 * has no 'unsafe-eval', so the probe is refused and Chromium reports a CSP violation (zod then
 * parses without compiling anyway). Telling zod up front skips the probe: same parsing, no
 * violation.
 */
import { config } from 'zod';

config({ jitless: true });
