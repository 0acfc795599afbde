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
  type ConfusionChartOptions,
} from './svg.js';
export { prCurveChart, confidenceCurveChart, detectionConfusionChart, labelsChart, type LabelStatsItem } from './detection-plots.js';
export { resultsTable, formatResultsCsv, resultsChart, type ResultsTable } from './results-csv.js';
export { predictionGrid, type GridItem } from './prediction-grid.js';
export { ProgressBar } from './progress.js';
