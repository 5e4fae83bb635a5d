/**
 * A statement's `{name:Type}` parameters written into its text as typed literals: `CAST(<value> AS
 * Type)`, which ClickHouse parses by the type exactly as it parses a bound parameter's value.
 *
 * Why: chDB's Node binding runs every query that carries parameters one at a time across the whole
 * process (its `globalParamChain`: libchdb's parameter state is not isolated per connection), so
 * with bound parameters the serving pool's connections, the batch's and the speed layer's all wait
 * for each other, and a process's reads use one query at a time whatever the pool. Queries without
 * parameters run in parallel on their connections.
 *
 * Safe as binding is: a value is only ever a number, or a string literal with its backslashes,
 * quotes and NULs escaped, or an array of those; placeholders are found outside string literals,
 * quoted identifiers and comments only, as ClickHouse's own parser finds them; and a type must be
 * a plain type expression. Anything else (a value of another kind, a parameter without a value, an
 * odd type, a statement grown past maxInlinedLength) returns undefined, and the caller binds the
 * parameters as usual.
 */
export function inlineParams(query: string, params: Record<string, unknown>): string | undefined {
  let out = '';
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    const skipTo = skipEnd(query, i);
    if (skipTo !== undefined) {
      out += query.slice(i, skipTo);
      i = skipTo;
      continue;
    }
    if (c === '{') {
      const close = query.indexOf('}', i);
      const match = close < 0 ? null : /^\{\s*(\w+)\s*:\s*(.+?)\s*\}$/s.exec(query.slice(i, close + 1));
      if (!match) return undefined;
      const [, name, type] = match as unknown as [string, string, string];
      if (!plainType(type) || !Object.hasOwn(params, name)) return undefined;
      const value = literal(params[name]);
      if (value === undefined) return undefined;
      out += `CAST(${value} AS ${type})`;
      i = close + 1;
      continue;
    }
    out += c;
    i += 1;
  }
  return out.length <= maxInlinedLength ? out : undefined;
}

/**
 * The longest statement written out: ClickHouse refuses statements longer than its max_query_size
 * (256 KiB), which bound values do not count against. The serving reads' longest parameter, a
 * month's committed runs, is about 30 KB written out.
 */
export const maxInlinedLength = 128 * 1024;

/** Where a string literal, a quoted identifier or a comment starting at `i` ends; else undefined. */
function skipEnd(text: string, i: number): number | undefined {
  const c = text[i];
  if (c === "'" || c === '"' || c === '`') {
    let j = i + 1;
    while (j < text.length) {
      if (text[j] === '\\') j += 2;
      else if (text[j] === c && text[j + 1] === c) j += 2;
      else if (text[j] === c) return j + 1;
      else j += 1;
    }
    return text.length;
  }
  if (c === '-' && text[i + 1] === '-') {
    const end = text.indexOf('\n', i);
    return end < 0 ? text.length : end;
  }
  if (c === '/' && text[i + 1] === '*') {
    const end = text.indexOf('*/', i + 2);
    return end < 0 ? text.length : end + 2;
  }
  return undefined;
}

/** A type name with arguments that are types, numbers or simple quoted strings: `DateTime64(3, 'UTC')`. */
function plainType(type: string): boolean {
  const argument = /^(\d+|'[A-Za-z0-9_/+:-]*')$/;
  const parts = /^([A-Za-z][A-Za-z0-9]*)(?:\((.*)\))?$/s.exec(type.trim());
  if (!parts) return false;
  const inner = parts[2];
  if (inner === undefined) return true;
  let depth = 0;
  let start = 0;
  const args: string[] = [];
  for (let i = 0; i < inner.length; i += 1) {
    if (inner[i] === '(') depth += 1;
    else if (inner[i] === ')') depth -= 1;
    else if (inner[i] === ',' && depth === 0) {
      args.push(inner.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) return false;
  }
  args.push(inner.slice(start));
  return depth === 0 && args.every((a) => argument.test(a.trim()) || plainType(a));
}

function literal(value: unknown): string | undefined {
  if (typeof value === 'string')
    return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\0', '\\0')}'`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    const items = value.map(literal);
    return items.every((item) => item !== undefined) ? `[${items.join(', ')}]` : undefined;
  }
  return undefined;
}
