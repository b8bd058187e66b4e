import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // The renderer's import alias, so its pure modules can be tested here as well.
  resolve: { alias: { '@shared': resolve(import.meta.dirname, 'src-main/shared') } },
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/oracle/**/*.test.ts',
      'test/lab/**/*.test.ts',
      'test/e2e/**/*.test.ts'
    ],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks'
  }
})
