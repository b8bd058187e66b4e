/**
 * Makes the bundled sample incident (resources/sample-incident) from the kernel lab: three
 * network namespaces, real iptables rules, real traffic, tcpdump at every host, the kernel's own
 * LOG lines and each host's snapshots. Needs root, tcpdump, iptables and iproute2:
 *
 *   sudo npx tsx scripts/make-sample-incident.ts
 *
 * The cases (failure, expected cause, rule) are written beside it in sample-incident.cases.json
 * (outside the folder, which is only evidence), and
 * test/unit/sample-incident.test.ts checks the analysis still finds them.
 */
import { cpSync, rmSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { buildIncident } from '../test/lab/incident-scenario'
import { labUnavailable, Lab } from '../test/lab/lab-host'

const target = resolve(import.meta.dirname, '..', 'resources', 'sample-incident')

async function main(): Promise<void> {
  const why = labUnavailable()
  if (why) throw new Error(`cannot make the sample incident here: ${why}`)
  const lab = new Lab()
  try {
    const folder = await buildIncident(lab, 'iptables', 88)
    rmSync(target, { recursive: true, force: true })
    cpSync(folder.dir, target, { recursive: true })
    writeFileSync(
      `${target}.cases.json`,
      JSON.stringify(
        folder.cases.map(({ name, proto, v6, sport, dport, outcome, cause, host, ruleHas }) => ({
          name,
          proto,
          v6: v6 ?? false,
          sport,
          dport,
          outcome,
          cause,
          host,
          ruleHas
        })),
        null,
        2
      ) + '\n'
    )
    console.log(`sample incident written to ${target}`)
  } finally {
    await lab.close()
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
