import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import type { FirewalldFile } from '../../../../src-main/engine/firewalld/read-firewalld'
import { CORPUS, ROOT } from '../../../support/run'

/** The firewalld fixtures folder. */
export const FIXTURES = resolve(ROOT, 'test/fixtures/firewalld')

/** Returns every file under a folder as { path relative to the folder, text }. */
export function filesUnder(dir: string): FirewalldFile[] {
  const out: FirewalldFile[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push({ path: relative(dir, p), text: readFileSync(p, 'utf8') })
    }
  }
  walk(dir)
  return out
}

/** Returns the corpus firewalld XML files under the paths firewalld keeps them (zones/public.xml ...). */
export function corpusFiles(): FirewalldFile[] {
  const dir = resolve(CORPUS, 'firewalld')
  const out: FirewalldFile[] = []
  for (const name of readdirSync(dir)) {
    const m = /^firewalld_(tests_)?(zones|services|policies|icmptypes|helpers)_(.+\.xml)$/.exec(
      name
    )
    if (m && !m[1])
      out.push({
        path: `usr/lib/firewalld/${m[2]}/${m[3]}`,
        text: readFileSync(join(dir, name), 'utf8')
      })
    if (name === 'firewalld_firewalld.conf')
      out.push({
        path: 'etc/firewalld/firewalld.conf',
        text: readFileSync(join(dir, name), 'utf8')
      })
  }
  return out
}
