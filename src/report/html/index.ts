// joule report: one self-contained HTML file for a run, a sweep, a comparison of several, or the estimation methods' validation.
import path from 'node:path';
import { packageVersion } from '../../paths';
import { readRun } from '../../experiments/run-data';
import { isSweepDir } from '../../experiments/sweep-dir';
import { renderPage, type Section } from './page';
import { comparisonSections, runSections, sweepSections } from './sections';
import { validationSections, type ValidationOptions } from './validation';

export async function buildReport(paths: string[], options: { validate?: ValidationOptions } = {}): Promise<{ html: string; title: string; charts: number }> {
  let sections: Section[];
  let title: string;
  if (options.validate) {
    sections = validationSections(paths, options.validate);
    title = `joule report: estimation methods validated on ${paths.map((p) => path.basename(path.resolve(p))).join(', ')}`;
  } else if (paths.length === 1) {
    const [only] = paths;
    sections = isSweepDir(only) ? sweepSections(only) : runSections(readRun(only));
    title = `joule report: ${isSweepDir(only) ? 'sweep' : 'run'} ${path.basename(path.resolve(only))}`;
  } else {
    sections = [...comparisonSections(paths), ...paths.filter(isSweepDir).flatMap(sweepSections)];
    title = `joule report: ${paths.map((p) => path.basename(path.resolve(p))).join(' vs ')}`;
  }
  const meta = `Written by joule ${packageVersion} on ${new Date().toISOString()} from ${paths.map((p) => path.resolve(p)).join(', ')}. Every energy figure names its source: nvml (GPU counters), rapl (CPU/DRAM counters) or model (an estimate, never added to a measured figure).`;
  return { html: await renderPage(title, meta, sections), title, charts: sections.reduce((n, s) => n + s.charts.length, 0) };
}
