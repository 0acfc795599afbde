export { lineChart, confusionMatrixChart, svgToPng, escapeXml, type Series } from './svg.js';
export { predictionGrid, type GridItem } from './prediction-grid.js';
export { ProgressBar } from './progress.js';
