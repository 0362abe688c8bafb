// Charts as inline SVG: Vega-Lite specifications compiled and rendered to SVG in Node by Vega (no browser, no CDN), so a report is one file readable offline.
import { JouleError } from '../../errors';

/** A Vega-Lite specification (kept loose: the library validates it when compiling). */
export type ChartSpec = Record<string, unknown>;

interface VegaModules {
  vega: { View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void }; parse(spec: unknown): unknown };
  vegaLite: { compile(spec: unknown): { spec: unknown } };
}

let modules: Promise<VegaModules> | undefined;

// vega and vega-lite are ES modules with top-level await: tsc's CommonJS output would turn `import()` into
// require(), which cannot load them, so the import goes through a function tsc does not rewrite.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([importEsm('vega'), importEsm('vega-lite')]).then(([vega, vegaLite]) => ({ vega: vega as unknown as VegaModules['vega'], vegaLite: vegaLite as unknown as VegaModules['vegaLite'] }));
  return modules;
}

const baseConfig = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: '#ccc' },
};

/** Renders one chart to an SVG string. */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const { vega, vegaLite } = await loadVega();
  let compiled: unknown;
  try {
    compiled = vegaLite.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 560, height: 260, config: baseConfig, ...spec }).spec;
  } catch (error) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `chart specification rejected by vega-lite: ${(error as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
