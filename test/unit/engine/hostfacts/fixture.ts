import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The text of a fixture in test/fixtures/hostfacts. */
export function fixture(name: string): string {
  return readFileSync(
    fileURLToPath(new URL(`../../../fixtures/hostfacts/${name}`, import.meta.url)),
    'utf8'
  )
}
