import { axisTop, brushX, scaleLinear, select, zoom, zoomIdentity, type ZoomBehavior } from 'd3'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { formatTick } from './time-format'
import { describeMark } from './describe-mark'
import { buildTimeline } from './build-timeline'
import { drawTimeline, readPalette } from './draw-timeline'
import { LABEL_PX, LANE_PX } from './sizes'
import { hitMark, layoutMarks, type Layout, type View } from './layout'
import { timelineControls } from './timeline-controls'
import { TimelineLegend } from './timeline-legend'
import { outcomeLabel } from '../model/outcomes'
import { openPacket } from '../store/actions'
import { appStore, useApp } from '../store/app-store'

const AXIS_PX = 26
/** The strip under the lanes for the legend and the lane count. */
const FOOT_PX = 20
/** The widest a tooltip grows (app.css .tip max-width). */
const TIP_PX = 400

/** The incident on one timeline: a lane per conversation or host pair, canvas marks, d3 axis, zoom and brush. */
export function Timeline() {
  const incident = useApp((s) => s.incident)
  const mode = useApp((s) => s.laneMode)
  const theme = useApp((s) => s.theme)
  const selectedFlow = useApp((s) => s.selectedFlow)
  const selectedFinding = useApp((s) => s.selectedFinding)
  const data = useMemo(() => (incident ? buildTimeline(incident, mode) : null), [incident, mode])
  const wrap = useRef<HTMLDivElement>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const svg = useRef<SVGSVGElement>(null)
  const [size, setSize] = useState({ w: 800, h: 240 })
  const [firstLane, setFirstLane] = useState(0)
  const [tip, setTip] = useState<{ x: number; y: number; text: string; flip: boolean } | null>(null)
  const state = useRef({
    k: 1,
    x: 0,
    layout: undefined as Layout | undefined,
    view: undefined as View | undefined
  })
  const zoomRef = useRef<ZoomBehavior<HTMLCanvasElement, unknown> | null>(null)
  const [tick, setTick] = useState(0)

  // The right margin leaves room for the last tick label.
  const plotW = Math.max(50, size.w - LABEL_PX - 40)
  const plotH = Math.max(0, size.h - AXIS_PX - FOOT_PX)
  const laneCount = Math.max(1, Math.floor(plotH / LANE_PX))
  const lanesTotal = data?.lanes.length ?? 0
  const selectedLanes = useMemo(() => {
    const out = new Set<number>()
    if (!data || !incident) return out
    const finding = incident.findings.find((f) => f.id === selectedFinding)
    const ids = new Set([...(finding?.flows ?? []), ...(selectedFlow ? [selectedFlow] : [])])
    data.lanes.forEach((l, i) => {
      if (l.flows.some((fi) => ids.has(incident.flows[fi].id))) out.add(i)
    })
    return out
  }, [data, incident, selectedFlow, selectedFinding])

  useLayoutEffect(() => {
    const el = wrap.current
    if (!el) return
    const ro = new ResizeObserver(() => setSize({ w: el.clientWidth, h: el.clientHeight }))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  // The full time span, padded so the first and last marks are not on the edge.
  const base = useMemo(() => {
    if (!data)
      return scaleLinear()
        .domain([0, 1])
        .range([LABEL_PX, LABEL_PX + plotW])
    const pad = Math.max(1000, (data.endUs - data.startUs) * 0.03)
    return scaleLinear()
      .domain([data.startUs - pad, data.endUs + pad])
      .range([LABEL_PX, LABEL_PX + plotW])
  }, [data, plotW])

  // d3-zoom on the canvas: drag pans, Ctrl+wheel (or wheel when every lane fits) zooms.
  useEffect(() => {
    const el = canvas.current
    if (!el || !data) return
    const spanUs = base.domain()[1] - base.domain()[0]
    const z = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1, Math.max(1, spanUs / (plotW * 0.05))])
      .translateExtent([
        [LABEL_PX, 0],
        [LABEL_PX + plotW, size.h]
      ])
      .extent([
        [LABEL_PX, 0],
        [LABEL_PX + plotW, size.h]
      ])
      .filter((e: Event) => {
        if (e.type === 'wheel') return (e as WheelEvent).ctrlKey || lanesTotal <= laneCount
        return !(e as MouseEvent).button
      })
      .on('zoom', (e: { transform: { k: number; x: number } }) => {
        state.current.k = e.transform.k
        state.current.x = e.transform.x
        setTick((t) => t + 1)
      })
    zoomRef.current = z
    const sel = select(el)
    sel.call(z)
    sel.call(z.transform, zoomIdentity)
    timelineControls.zoomBy = (f) => sel.call(z.scaleBy, f, [LABEL_PX + plotW / 2, 0])
    timelineControls.reset = () => sel.call(z.transform, zoomIdentity)
    return () => {
      sel.on('.zoom', null)
    }
  }, [data, base, plotW, size.h, lanesTotal, laneCount])

  // Brushing the axis zooms to the brushed span.
  useEffect(() => {
    const s = svg.current
    if (!s || !data) return
    const g = select(s).select<SVGGElement>('g.brush')
    const brush = brushX<unknown>()
      .extent([
        [LABEL_PX, 0],
        [LABEL_PX + plotW, AXIS_PX]
      ])
      .on('end', (e: { selection: [number, number] | null; sourceEvent?: unknown }) => {
        if (!e.selection || !e.sourceEvent || !canvas.current || !zoomRef.current) return
        const x = current().invert
        const [a, b] = e.selection.map((px) => x(px))
        const k = plotW / Math.max(1e-6, base(b) - base(a))
        const t = zoomIdentity.translate(LABEL_PX - k * base(a), 0).scale(k)
        select(canvas.current).call(zoomRef.current.transform, t)
        g.call(brush.move, null)
      })
    g.call(brush)
    return () => {
      g.on('.brush', null)
    }
  })

  const current = () =>
    zoomIdentity.translate(state.current.x, 0).scale(state.current.k).rescaleX(base)

  // Keep the selection's lane in view.
  useEffect(() => {
    const first = [...selectedLanes][0]
    if (first === undefined) return
    if (first < firstLane || first >= firstLane + laneCount)
      setFirstLane(Math.max(0, Math.min(first - 2, lanesTotal - laneCount)))
  }, [selectedLanes])

  // Draw: layout (pure) then canvas; the axis through d3 into its own <g>.
  useLayoutEffect(() => {
    const el = canvas.current
    const s = svg.current
    if (!el || !s || !data) return
    const dpr = window.devicePixelRatio || 1
    if (el.width !== size.w * dpr || el.height !== plotH * dpr) {
      el.width = size.w * dpr
      el.height = plotH * dpr
    }
    const ctx = el.getContext('2d')
    if (!ctx) return
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    const x = current()
    const [startUs, endUs] = x.domain()
    const view: View = { startUs, endUs, leftPx: LABEL_PX, widthPx: plotW, firstLane, laneCount }
    performance.mark('timeline-frame-start')
    const layout = layoutMarks(data, view, state.current.layout)
    state.current.layout = layout
    state.current.view = view
    drawTimeline(
      ctx,
      data,
      view,
      layout,
      readPalette(el),
      { widthPx: size.w, heightPx: plotH },
      selectedLanes
    )
    performance.measure('timeline-frame', 'timeline-frame-start')
    // The visible span, for tests and for anyone inspecting the page.
    if (wrap.current) wrap.current.dataset.spanUs = String(Math.round(endUs - startUs))
    const axis = axisTop<number>(x)
      .ticks(Math.max(2, Math.floor(plotW / 110)))
      .tickFormat((v) => formatTick(Number(v), endUs - startUs))
    select(s)
      .select<SVGGElement>('g.axis')
      .attr('transform', `translate(0,${AXIS_PX - 1})`)
      .call(axis)
  }, [data, size, tick, firstLane, laneCount, plotW, selectedLanes, theme])

  if (!data) return <div className="timeline empty" ref={wrap} />

  const at = (e: React.MouseEvent) => {
    const r = canvas.current!.getBoundingClientRect()
    const px = e.clientX - r.left
    const row = Math.floor((e.clientY - r.top) / LANE_PX)
    const lane = firstLane + row
    return { px, row, lane: lane < lanesTotal && row >= 0 ? lane : -1 }
  }
  const onMove = (e: React.MouseEvent) => {
    const { px, row, lane } = at(e)
    if (lane < 0) return setTip(null)
    const l = data.lanes[lane]
    const i = state.current.layout ? hitMark(state.current.layout, px, row) : -1
    const text = i >= 0 ? describeMark(data, i) : `${l.label} · ${outcomeLabel(l.outcome)}`
    // Right of the pointer where it fits, else on the roomier side, no wider than the room.
    const x = e.nativeEvent.offsetX
    const flip = x + 12 + TIP_PX > size.w && x > size.w - x
    setTip({ x, y: e.nativeEvent.offsetY + AXIS_PX + 8, text, flip })
  }
  const onClick = (e: React.MouseEvent) => {
    const { px, row, lane } = at(e)
    if (lane < 0 || !incident) return
    const i = state.current.layout ? hitMark(state.current.layout, px, row) : -1
    const l = data.lanes[lane]
    const flow =
      i >= 0 ? data.flow[i] : (l.flows.find((fi) => incident.flows[fi].finding) ?? l.flows[0])
    appStore.getState().selectFlow(incident.flows[flow].id)
    const frame = i >= 0 ? data.frames.get(i) : undefined
    if (frame) void openPacket(frame)
  }
  const onWheel = (e: React.WheelEvent) => {
    if (e.ctrlKey || lanesTotal <= laneCount) return
    const step = Math.sign(e.deltaY) * Math.max(1, Math.round(Math.abs(e.deltaY) / LANE_PX))
    setFirstLane((f) => Math.max(0, Math.min(lanesTotal - laneCount, f + step)))
  }
  return (
    <div className="timeline" ref={wrap} data-lanes={lanesTotal} data-first-lane={firstLane}>
      <svg ref={svg} width={size.w} height={AXIS_PX} className="timeline-axis">
        <g className="axis" />
        <g className="brush" />
      </svg>
      <canvas
        ref={canvas}
        style={{ width: size.w, height: plotH }}
        onMouseMove={onMove}
        onMouseLeave={() => setTip(null)}
        onClick={onClick}
        onWheel={onWheel}
        aria-label="Timeline"
      />
      <div className="timeline-foot">
        <TimelineLegend points={data.points} />
        {lanesTotal > laneCount && (
          <span className="lane-scroll muted" title="Wheel scrolls the lanes; Ctrl+wheel zooms">
            lanes {firstLane + 1}–{Math.min(lanesTotal, firstLane + laneCount)} of {lanesTotal}
          </span>
        )}
      </div>
      {tip && (
        <div
          className="tip"
          style={
            tip.flip
              ? { right: size.w - tip.x + 12, top: tip.y, maxWidth: Math.min(TIP_PX, tip.x - 16) }
              : { left: tip.x + 12, top: tip.y, maxWidth: Math.min(TIP_PX, size.w - tip.x - 16) }
          }
        >
          {tip.text}
        </div>
      )}
    </div>
  )
}
