// The report page: sections of tables and charts into one self-contained, printable HTML file, each chart's data attached as CSV and JSON.
import { stringify } from 'csv-stringify/sync';
import { renderSvg, type ChartSpec } from './charts';

export type Row = Record<string, string | number | boolean | null>;

export interface Chart {
  /** File-name-safe id, used for the data downloads. */
  id: string;
  title: string;
  /** Says what the chart shows and where its energy figures come from. */
  caption: string;
  /** Vega-Lite spec without data: the rows go in as `data.values`. */
  spec: ChartSpec;
  rows: Row[];
}

export interface Table {
  caption?: string;
  header: string[];
  rows: (string | number | null)[][];
}

export interface Section {
  title: string;
  /** Paragraphs of plain text (escaped). */
  notes: string[];
  tables: Table[];
  charts: Chart[];
}

/** A figure rounded for tables and chart data (4 significant digits by default); null for none, NaN or infinity. */
export const fmt = (value: number | null | undefined, digits = 4): number | null => (value === null || value === undefined || !Number.isFinite(value) ? null : Number(value.toPrecision(digits)));

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function dataLink(name: string, type: string, body: string): string {
  return `<a download="${escapeHtml(name)}" href="data:${type};base64,${Buffer.from(body).toString('base64')}">${escapeHtml(name)}</a>`;
}

function tableHtml(table: Table): string {
  const cell = (value: string | number | null) => escapeHtml(value === null ? 'n/a' : String(value));
  return `<table>${table.caption ? `<caption>${escapeHtml(table.caption)}</caption>` : ''}<thead><tr>${table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${table.rows
    .map((row) => `<tr>${row.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

async function chartHtml(chart: Chart): Promise<string> {
  const svg = await renderSvg({ ...chart.spec, data: { values: chart.rows } });
  const csv = chart.rows.length ? stringify(chart.rows, { header: true, columns: Object.keys(chart.rows[0]) }) : '';
  return `<figure id="${escapeHtml(chart.id)}"><figcaption><strong>${escapeHtml(chart.title)}</strong> ${escapeHtml(chart.caption)}</figcaption>${svg}<p class="data">Data: ${dataLink(`${chart.id}.csv`, 'text/csv', csv)} ${dataLink(`${chart.id}.json`, 'application/json', JSON.stringify(chart.rows, null, 1))}</p></figure>`;
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .85em; } caption { text-align: left; font-weight: bold; padding: .3em 0; }
th, td { border: 1px solid #ddd; padding: .25em .5em; text-align: left; vertical-align: top; } th { background: #f3f3f3; }
figure { margin: 1.5em 0; page-break-inside: avoid; } figcaption { font-size: .9em; margin-bottom: .4em; } svg { max-width: 100%; height: auto; }
.data { font-size: .8em; color: #555; } .data a { margin-right: 1em; } .meta { color: #555; font-size: .85em; }
@media print { body { margin: 0; max-width: none; } .data { display: none; } h2 { page-break-after: avoid; } }
`;

/** The whole report as one HTML document: styles, text, tables and SVG inline; no scripts, nothing fetched. */
export async function renderPage(title: string, meta: string, sections: Section[]): Promise<string> {
  const parts: string[] = [];
  for (const section of sections) {
    parts.push(`<section><h2>${escapeHtml(section.title)}</h2>`);
    for (const note of section.notes) parts.push(`<p>${escapeHtml(note)}</p>`);
    for (const table of section.tables) parts.push(tableHtml(table));
    for (const chart of section.charts) parts.push(await chartHtml(chart));
    parts.push('</section>');
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><p class="meta">${escapeHtml(meta)}</p>
${parts.join('\n')}
</body></html>
`;
}
