#!/usr/bin/env node
// The command line, built by `npm install` (prepare) or `npm run build:cli`.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const built = fileURLToPath(new URL('../out/cli/verdict.mjs', import.meta.url))
if (!existsSync(built)) {
  process.stderr.write(
    'verdict: the command line is not built yet; run `npm run build:cli` (npm install does it)\n'
  )
  process.exit(70)
}
await import(built)
