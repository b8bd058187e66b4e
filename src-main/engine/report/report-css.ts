/** The HTML report's style sheet: readable tables on screen, no backgrounds or splits on paper. */
export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d1d1f;
  max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-bottom: 0.4em; }
.lead { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.facts td:first-child { font-weight: 600; white-space: nowrap; }
table.evidence td:nth-child(-n + 2) { white-space: nowrap; }
code, pre { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; font-size: 0.92em; }
code { overflow-wrap: anywhere; }
td code { white-space: pre-wrap; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.6em 0.8em; white-space: pre-wrap;
  overflow-wrap: anywhere; user-select: all; }
pre.rule { border-left: 4px solid #d62728; }
pre.fix { border-left: 4px solid #2ca02c; }
.label { font-weight: 600; margin: 0.8em 0 0.2em; }
.finding { border: 1px solid #ddd; border-radius: 6px; padding: 0.2em 1em 0.6em; margin: 1em 0; }
figure.timeline { margin: 0; overflow-x: auto; }
figure.timeline svg { max-width: 100%; height: auto; }
ul.problems { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  th { background: none; }
  pre { background: none; }
  .finding, table, figure, pre { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  figure.timeline { overflow: visible; }
}
`
