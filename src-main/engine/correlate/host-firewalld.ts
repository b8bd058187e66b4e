/**
 * A host's firewalld configuration: every firewalld file the host holds (a
 * copy of /etc/firewalld, firewalld.conf, `firewall-cmd --list-all-zones`
 * text) read together as one configuration, built on first use.
 */

import { problem, type Problem } from '../../shared/problem'
import type { FirewalldConfig, FirewalldDecision } from '../firewalld/model'
import { readFirewalld } from '../firewalld/read-firewalld'
import { readFirewalldConf } from '../firewalld/read-firewalld-conf'
import { readFirewalldXml } from '../firewalld/read-firewalld-xml'
import { looksLikeListAll, readListAll } from '../firewalld/read-list-all'
import { readXml } from '../firewalld/read-xml'
import type { FromFile, HostEvidence } from './evidence'
import { append } from '../../shared/append'

const built = new WeakMap<
  HostEvidence['firewalldFiles'],
  { count: number; config: FromFile<FirewalldConfig> }
>()

/**
 * Returns the host's firewalld configuration and the folder (or file) it was
 * read from, or undefined when the host has no firewalld files. Read once per
 * set of files; copies of the host's evidence share it.
 */
export function hostFirewalld(h: HostEvidence): FromFile<FirewalldConfig> | undefined {
  const files = h.firewalldFiles
  if (files.length === 0) return undefined
  const cached = built.get(files)
  if (cached && cached.count === files.length) return cached.config
  const config = { file: commonFolder(files.map((f) => f.path)), value: readFirewalld(files) }
  built.set(files, { count: files.length, config })
  return config
}

/**
 * Reads one firewalld file alone: how many definitions it holds (zones,
 * policies, services, ipsets, icmptypes; 1 for firewalld.conf) and what in it
 * cannot be read, with lines. Problems that need the other files (a service
 * defined elsewhere) are left to the whole configuration.
 */
export function readFirewalldFile(
  path: string,
  text: string
): { records: number; problems: Problem[] } {
  const problems: Problem[] = []
  const body = text.replace(/^\uFEFF/, '')
  if (/^\s*</.test(body)) {
    const doc = readXml(body, path)
    append(problems, doc.problems)
    if (!doc.root) return { records: 0, problems }
    const name = (path.split(/[\\/]/).pop() ?? path).replace(/\.xml$/i, '')
    const def = readFirewalldXml(doc.root, name, path, problems)
    return { records: def ? 1 : 0, problems }
  }
  if (looksLikeListAll(body)) {
    const list = readListAll(body, path, problems)
    return { records: list.zones.length + list.policies.length, problems }
  }
  if (/^\s*[A-Za-z0-9_]+\s*=/m.test(body)) {
    readFirewalldConf(body, path, problems)
    return { records: 1, problems }
  }
  problems.push(
    problem(
      path,
      'line 1',
      'not a firewalld XML file, firewalld.conf or firewall-cmd --list-all output'
    )
  )
  return { records: 0, problems }
}

/** Returns the text of one line of a firewalld file, trimmed, or undefined. */
export function firewalldLine(
  files: HostEvidence['firewalldFiles'],
  file: string,
  line: number
): string | undefined {
  const f = files.find((x) => x.path === file)
  const raw = f?.text.split('\n')[line - 1]
  return raw === undefined ? undefined : raw.trim()
}

/**
 * Returns a deciding setting as the files write it: a rich rule's text (as
 * firewall-cmd prints it), a target's line (`<zone target="DROP">`,
 * `  target: DROP`), or the line holding a service, port or icmp-block.
 */
export function writtenSetting(
  files: HostEvidence['firewalldFiles'],
  d: FirewalldDecision
): string {
  if (d.kind === 'rich-rule' || d.kind === 'builtin' || d.file === undefined || !d.line)
    return d.text
  const line = firewalldLine(files, d.file, d.line)
  if (line === undefined || line === '') return d.text
  if (d.kind === 'target' || d.kind === 'policy-target') return /target/.test(line) ? line : d.text
  return line.includes(d.text) || d.kind === 'forward-port' ? line : d.text
}

function commonFolder(paths: string[]): string {
  if (paths.length === 1) return paths[0]
  const split = paths.map((p) => p.split(/[\\/]/))
  const first = split[0]
  let n = 0
  while (n < first.length - 1 && split.every((s) => s.length > n + 1 && s[n] === first[n])) n++
  const sep = paths[0].includes('\\') && !paths[0].includes('/') ? '\\' : '/'
  return n === 0 ? '.' : first.slice(0, n).join(sep) || sep
}
