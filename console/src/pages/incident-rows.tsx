import { t, type MessageKey } from '../i18n';

/**
 * Per-row editors for the report's lists that handlers fill one item at a time (hosts,
 * indicators, evidence): add a row, remove any row, every cell a labelled control. A row is
 * sent with the cells that hold something (and its choices); a row with no text is not sent. Numbers the page cannot
 * read (a port "http") go as typed, so the node's 400 names the row and field.
 */
export type Row = Record<string, string>;
export interface Column {
  key: string;
  kind: 'text' | 'area' | 'select' | 'ports' | 'flag';
  values?: readonly string[];
  required?: boolean;
}

export function rowsToItems(rows: Row[], columns: Column[]): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown>> = [];
  for (const row of rows) {
    const item: Record<string, unknown> = {};
    let filled = false;
    for (const c of columns) {
      const raw = row[c.key] ?? '';
      // An unchecked box is a "no", not an unknown: sent as false with the rest of the row.
      if (c.kind === 'flag') item[c.key] = raw === 'true';
      else if (c.kind === 'ports') {
        const ports = raw.split(/[\s,]+/).filter(Boolean);
        if (ports.length) {
          item[c.key] = ports.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
          filled = true;
        }
      } else if (c.kind === 'select') {
        item[c.key] = raw || c.values?.[0];
      } else {
        const value = c.kind === 'area' ? raw.replace(/\s+$/, '') : raw.trim();
        if (value) {
          item[c.key] = value;
          filled = true;
        }
      }
    }
    if (filled) items.push(item);
  }
  return items;
}

export function RowEditor(props: {
  id: string;
  title: MessageKey;
  item: MessageKey;
  columns: Column[];
  rows: Row[];
  onChange: (rows: Row[]) => void;
}) {
  const { id, columns, rows, onChange } = props;
  const what = t(props.item);
  const set = (n: number, key: string, value: string) => onChange(rows.map((row, i) => (i === n ? { ...row, [key]: value } : row)));
  return (
    <fieldset data-testid={`rows-${id}`}>
      <legend>{t(props.title)}</legend>
      {rows.length === 0 && <p class="muted">{t('common.none')}</p>}
      {rows.map((row, n) => (
        <fieldset key={n} class="row">
          <legend>{t('rows.row', { what, n: n + 1 })}</legend>
          {columns.map((c) => {
            const cellId = `row-${id}-${n}-${c.key}`;
            const value = row[c.key] ?? '';
            const input = (e: Event) => set(n, c.key, (e.currentTarget as HTMLInputElement).value);
            return (
              <div class="field" key={c.key}>
                <label for={cellId}>{t(`column.${c.key}` as MessageKey)}</label>
                {c.kind === 'select' ? (
                  <select id={cellId} value={value || c.values?.[0]} onChange={input}>
                    {(c.values ?? []).map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                ) : c.kind === 'flag' ? (
                  <input
                    id={cellId}
                    type="checkbox"
                    checked={value === 'true'}
                    onChange={(e) => set(n, c.key, e.currentTarget.checked ? 'true' : '')}
                  />
                ) : c.kind === 'area' ? (
                  <textarea id={cellId} rows={4} value={value} onInput={input} />
                ) : (
                  <input id={cellId} value={value} required={c.required} onInput={input} />
                )}
              </div>
            );
          })}
          <button type="button" onClick={() => onChange(rows.filter((_, i) => i !== n))}>
            {t('rows.remove', { what, n: n + 1 })}
          </button>
        </fieldset>
      ))}
      <button type="button" data-testid={`add-${id}`} onClick={() => onChange([...rows, {}])}>
        {t('rows.add', { what })}
      </button>
    </fieldset>
  );
}
