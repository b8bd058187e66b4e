import { runAnalyze } from './analyze'
import { runPackets } from './packets'
import { runServe } from './serve'
import { runTrace } from './trace'

const USAGE = `verdict — which connections failed, and which firewall rule made each one fail

usage:
  verdict packets FILE [--format text|jsonl]    one line (or JSON object) per packet
  verdict analyze PATH... [--format json|text|md|html] [--out FILE] [--what-if "CHANGE"]...
                [--boot-time ISO] [--year N] [--utc-offset +HH:MM]
                                                every conversation and how it ended, and why
                                                it failed; a folder is an incident (one
                                                subfolder per host); NAME=PATH names a host or
                                                capture point; md and html write a post-incident
                                                report, text a terminal summary; --what-if tries
                                                a ruleset change on every flow (repeatable);
                                                the clock options place log times (dmesg boot
                                                time, syslog year and zone)
  verdict trace RULESET --packet SPEC [--path input|forward|output] [--ct STATE]
                [--iif NAME] [--oif NAME] [--format text|json]
                                                walk a packet through a ruleset snapshot (iptables-save, nft)
  verdict serve [PATH...] [--port N]            the app in a browser, on 127.0.0.1 (run npm run build first)

Captures: pcap and pcapng (and their gzip), detected by content.
`

/** Runs the command line; returns the exit status. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'packets':
      return runPackets(rest)
    case 'analyze':
    case 'analyse':
      return runAnalyze(rest)
    case 'trace':
      return runTrace(rest)
    case 'serve':
      return runServe(rest)
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE)
      return command === undefined ? 2 : 0
    default:
      process.stderr.write(`verdict: unknown command '${command}'\n\n${USAGE}`)
      return 2
  }
}

// A reader that stopped early (`verdict packets F | head`) has all it wanted: stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e
  process.exit(0)
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(
      `verdict: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`
    )
    process.exitCode = 70
  }
)
