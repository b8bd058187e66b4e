import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { SourceFile } from '../engine/analyse'
import { readChunks } from '../node/read-chunks'

/** A path the user named that could not be used, with why. */
export interface BadPath {
  path: string
  message: string
}

/**
 * Returns the files behind command-line arguments. A file is itself; a folder
 * is an incident: each subfolder is one host (everything under it is that
 * host's), files directly inside belong to no host. NAME=PATH names the host
 * (for a folder) or the capture point and host (for a file).
 */
export function collectInputs(args: string[]): { files: SourceFile[]; bad: BadPath[] } {
  const files: SourceFile[] = []
  const bad: BadPath[] = []
  for (const arg of args) {
    const named = /^([^=/\\]+)=(.+)$/.exec(arg)
    const [name, path] = named ? [named[1], named[2]] : [undefined, arg]
    let st
    try {
      st = statSync(path)
    } catch (e) {
      bad.push({ path, message: `${path}: ${(e as Error).message}` })
      continue
    }
    if (st.isDirectory()) {
      if (name !== undefined) {
        for (const f of walk(path)) files.push(source(f, name))
        continue
      }
      for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : 1
      )) {
        const full = join(path, entry.name)
        if (entry.isDirectory()) for (const f of walk(full)) files.push(source(f, entry.name))
        else if (entry.isFile()) files.push(source(full))
      }
    } else {
      files.push(source(path, name, name))
    }
  }
  return { files, bad }
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1
  )) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(full)
    else if (entry.isFile()) yield full
  }
}

function source(path: string, host?: string, point?: string): SourceFile {
  let size: number | undefined
  try {
    size = statSync(path).size
  } catch {
    size = undefined
  }
  const file: SourceFile = {
    path,
    size,
    read: () => readChunks(path)
  }
  if (host !== undefined) file.host = host
  if (point !== undefined) file.point = point
  return file
}
