#!/usr/bin/env node
// Installed as the `ringswarm-tracker` command; the code is built into dist/ by `npm run build`.
import '../dist/main.js';
