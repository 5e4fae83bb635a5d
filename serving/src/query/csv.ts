/**
 * RFC 4180 CSV: a header line, then one line per row, CRLF endings. Text that a spreadsheet would
 * run as a formula (starting with = + - @, a tab or CR; page paths and prop values come from
 * visitors) gets a leading apostrophe, as OWASP advises for CSV exports.
 */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const lines = [columns.map(field).join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
