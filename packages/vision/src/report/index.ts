export {
  lineChart,
  trainingCurveCharts,
  niceTicks,
  niceNumber,
  formatTick,
  confusionMatrixChart,
  svgToPng,
  escapeXml,
  type Series,
  type LineChartOptions,
  type Ticks,
  type MetricsRow,
  type TrainingCurveLabels,
} from './svg.js';
export { predictionGrid, type GridItem } from './prediction-grid.js';
export { ProgressBar } from './progress.js';
