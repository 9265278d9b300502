import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { utcText } from './format';

/**
 * One uPlot chart (time on x, in seconds, drawn in the viewer's time zone). What it plotted is readable
 * from outside, for tests and for anyone checking a figure: `window.__argusCharts[id]` holds the data
 * uPlot drew, the series' labels, how often it drew, and `sample(series, index)`, the canvas pixel at a
 * point; the container carries data-points, data-anomalies and data-drawn.
 */

export interface ChartProbe {
  id: string;
  labels: string[];
  data: (number | null)[][];
  points: number;
  anomalies: number;
  markers: number[];
  drawn: number;
  /** The canvas pixel (RGBA) where series `seriesIndex` draws its point `index`, or null off the plot. */
  sample(seriesIndex: number, index: number): [number, number, number, number] | null;
}

declare global {
  interface Window {
    __argusCharts?: Record<string, ChartProbe>;
  }
}

export const COLORS = {
  value: '#1f5fa8',
  mean: '#333333',
  band: 'rgba(245, 166, 35, 0.22)',
  bandEdge: 'rgba(214, 130, 0, 0.7)',
  anomaly: '#d0021b',
  expected: '#2e7d32',
  marker: '#7b1fa2',
};

export interface ChartProps {
  id: string;
  /** Said to screen readers, with the counts. */
  title: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  bands?: uPlot.Band[];
  /** x values (seconds) drawn as dashed vertical lines, e.g. change points. */
  markers?: number[];
  /** How many anomalies the chart marks (for the label and the probe). */
  anomalies?: number;
  height?: number;
  yLabel?: string;
}

/** Points drawn as dots only, no line: amounts and anomaly markers. */
export function dots(label: string, stroke: string, size = 6): uPlot.Series {
  return { label, stroke, fill: stroke, width: 0, paths: () => null, points: { show: true, size, stroke, fill: stroke, width: 1 } };
}

export function line(label: string, stroke: string, options: Partial<uPlot.Series> = {}): uPlot.Series {
  return { label, stroke, width: 1.5, points: { show: false }, ...options };
}

function markerPlugin(markers: number[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.strokeStyle = COLORS.marker;
          ctx.lineWidth = 2 * uPlot.pxRatio;
          ctx.setLineDash([6 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
          for (const x of markers) {
            const left = Math.round(u.valToPos(x, 'x', true));
            if (left < bbox.left || left > bbox.left + bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(left, bbox.top);
            ctx.lineTo(left, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

export function Chart({ id, title, data, series, bands, markers = [], anomalies = 0, height = 300, yLabel }: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const points = data[0]?.length ?? 0;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let drawn = 0;
    const width = Math.max(280, element.clientWidth);
    const options: uPlot.Options = {
      width,
      height,
      series: [{ label: 'time', value: (_u, v) => (v === null || v === undefined ? '—' : new Date(v * 1000).toLocaleString()) }, ...series],
      bands,
      scales: { x: { time: true } },
      axes: [{ stroke: '#444', grid: { stroke: '#eee' } }, { stroke: '#444', grid: { stroke: '#eee' }, label: yLabel, size: 60 }],
      cursor: { points: { size: 8 } },
      legend: { live: true },
      plugins: markers.length > 0 ? [markerPlugin(markers)] : [],
      hooks: {
        draw: [
          () => {
            drawn += 1;
            element.dataset.drawn = String(drawn);
            const probe = window.__argusCharts?.[id];
            if (probe) probe.drawn = drawn;
          },
        ],
      },
    };
    const chart = new uPlot(options, data, element);
    element.dataset.points = String(points);
    element.dataset.anomalies = String(anomalies);
    window.__argusCharts ??= {};
    window.__argusCharts[id] = {
      id,
      labels: chart.series.map((s) => String(s.label ?? '')),
      data: chart.data.map((column) => Array.from(column as ArrayLike<number | null>)),
      points,
      anomalies,
      markers: [...markers],
      drawn,
      sample(seriesIndex, index) {
        const x = chart.data[0][index];
        const y = chart.data[seriesIndex]?.[index];
        if (x === undefined || y === null || y === undefined) return null;
        const scale = chart.series[seriesIndex]?.scale ?? 'y';
        const left = Math.round(chart.valToPos(x, 'x', true));
        const top = Math.round(chart.valToPos(y, scale, true));
        const { bbox } = chart;
        if (left < bbox.left || left > bbox.left + bbox.width || top < bbox.top || top > bbox.top + bbox.height) return null;
        const pixel = chart.ctx.getImageData(left, top, 1, 1).data;
        return [pixel[0], pixel[1], pixel[2], pixel[3]];
      },
    };
    const resize = new ResizeObserver(() => {
      const next = Math.max(280, element.clientWidth);
      if (next !== chart.width) chart.setSize({ width: next, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      if (window.__argusCharts?.[id]) delete window.__argusCharts[id];
    };
  }, [id, data, series, bands, markers, anomalies, height, yLabel, points]);

  const from = points > 0 ? new Date((data[0][0] as number) * 1000) : null;
  const to = points > 0 ? new Date((data[0][points - 1] as number) * 1000) : null;
  const label = `${title}: ${points} points${anomalies ? `, ${anomalies} anomalies marked` : ''}${from && to ? `, ${utcText(from)} to ${utcText(to)}` : ''}`;
  return <div class="chart" ref={container} role="img" aria-label={label} data-chart-id={id} />;
}
