import { readdirSync, realpathSync, statSync } from 'node:fs'
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
 * (for a folder) or the capture point and host (for a file). Symbolic links are
 * followed (evidence folders often link to large captures), each folder once; a
 * link that leads nowhere, or a folder with no file in it, is reported.
 */
export function collectInputs(args: string[]): { files: SourceFile[]; bad: BadPath[] } {
  const files: SourceFile[] = []
  const bad: BadPath[] = []
  const visited = new Set<string>()
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
    if (!st.isDirectory()) {
      files.push(source(path, name, name))
      continue
    }
    const before = files.length
    if (name !== undefined) {
      for (const f of walk(path, visited, bad)) files.push(source(f, name))
    } else {
      for (const entry of entries(path, visited, bad)) {
        if (entry.dir)
          for (const f of walk(entry.path, visited, bad)) files.push(source(f, entry.name))
        else files.push(source(entry.path))
      }
    }
    if (files.length === before) bad.push({ path, message: `${path}: no files in this folder` })
  }
  return { files, bad }
}

/** A folder's entries, sorted by name, links resolved; a folder already listed yields nothing. */
function entries(
  dir: string,
  visited: Set<string>,
  bad: BadPath[]
): { name: string; path: string; dir: boolean }[] {
  let real: string
  try {
    real = realpathSync(dir)
  } catch (e) {
    bad.push({ path: dir, message: `${dir}: ${(e as Error).message}` })
    return []
  }
  // A link back up the tree, or the same folder named twice, is read once.
  if (visited.has(real)) return []
  visited.add(real)
  const out: { name: string; path: string; dir: boolean }[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1
  )) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push({ name: entry.name, path, dir: true })
    else if (entry.isFile()) out.push({ name: entry.name, path, dir: false })
    else if (entry.isSymbolicLink()) {
      try {
        const st = statSync(path)
        if (st.isDirectory() || st.isFile())
          out.push({ name: entry.name, path, dir: st.isDirectory() })
      } catch (e) {
        bad.push({ path, message: `${path}: a link to nothing (${(e as Error).message})` })
      }
    }
  }
  return out
}

function* walk(dir: string, visited: Set<string>, bad: BadPath[]): Generator<string> {
  for (const entry of entries(dir, visited, bad)) {
    if (entry.dir) yield* walk(entry.path, visited, bad)
    else yield entry.path
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
