import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { SourceFile } from '../../src-main/engine/analyse'
import { CORPUS } from './run'

/** Returns a SourceFile over bytes in memory, delivered in chunks of `chunk` bytes. */
export function memorySource(
  path: string,
  bytes: Uint8Array,
  extra: Partial<SourceFile> = {},
  chunk = 1 << 16
): SourceFile {
  return {
    path,
    size: bytes.length,
    async *read() {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk)
    },
    ...extra
  }
}

/** Returns a corpus capture as a SourceFile. */
export function corpusSource(name: string, extra: Partial<SourceFile> = {}): SourceFile {
  return memorySource(name, readFileSync(resolve(CORPUS, 'pcaps', name)), extra)
}
