import { Component, type ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { problemCode, problemText } from './api';
import { originalTime, viewerTime } from './dates';
import { currentLanguage, t } from './i18n';

/**
 * Small shared pieces. Everything the node sends is rendered as text children (Preact escapes
 * them); nothing here ever sets markup from a string or follows a URL that came in data.
 */
export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState({ data: null, error: problemText(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

export function Problem({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p class="problem" role="alert">
      {text}
    </p>
  );
}

export function Loading<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.error) return <Problem text={state.error} />;
  if (state.data === null) return <p aria-busy="true">{t('common.loading')}</p>;
  return <>{children(state.data)}</>;
}

/** A time as written (with its offset) and the same instant in the viewer's zone. */
export function DateTime({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  return (
    <span class="datetime">
      <time dateTime={value}>{originalTime(value)}</time>
      <span class="local">
        {' '}
        ({t('date.yourTime')}: {viewerTime(value, currentLanguage())})
      </span>
    </span>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children === null || children === undefined || children === '' ? <span class="muted">—</span> : children}</dd>
    </>
  );
}

export function Tlp({ tlp }: { tlp: string }) {
  return <span class={`tlp tlp-${tlp.toLowerCase().replace(/[^a-z]/g, '-')}`}>TLP:{tlp}</span>;
}

export interface Bar {
  label: string;
  value: number;
}

/**
 * A horizontal bar chart as SVG elements (no markup strings, no inline style: the CSP allows
 * neither), labelled for screen readers by its title and a table of the same numbers.
 */
export function BarChart({ id, title, bars }: { id: string; title: string; bars: Bar[] }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rowHeight = 22;
  const labelWidth = 160;
  const width = 480;
  const height = Math.max(rowHeight, bars.length * rowHeight) + 4;
  return (
    <figure class="chart">
      <figcaption id={`${id}-title`}>{title}</figcaption>
      {bars.length === 0 ? (
        <p class="muted">{t('common.none')}</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-title`} width={width} height={height}>
          {bars.map((bar, i) => {
            const w = Math.round(((width - labelWidth - 40) * bar.value) / max);
            const y = i * rowHeight + 2;
            return (
              <g key={bar.label}>
                <text x={labelWidth - 6} y={y + 15} text-anchor="end" class="chart-label">
                  {bar.label}
                </text>
                <rect x={labelWidth} y={y + 3} width={Math.max(w, 1)} height={rowHeight - 6} class="chart-bar" />
                <text x={labelWidth + w + 6} y={y + 15} class="chart-value">
                  {bar.value}
                </text>
              </g>
            );
          })}
        </svg>
      )}
      <table class="visually-hidden">
        <caption>{title}</caption>
        <tbody>
          {bars.map((bar) => (
            <tr key={bar.label}>
              <th scope="row">{bar.label}</th>
              <td>{bar.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** A page that fails to render shows why, instead of an empty screen; the header stays usable. */
export class PageBoundary extends Component<{ children: ComponentChildren }, { error: string | null }> {
  override state = { error: null as string | null };
  override componentDidCatch(error: unknown) {
    this.setState({ error: error instanceof Error ? error.message : String(error) });
  }
  override render() {
    return this.state.error ? <Problem text={t('common.pageFailed', { error: this.state.error })} /> : this.props.children;
  }
}

/**
 * One button's or form's call to the node: busy while it runs, the refusal's text (and stable
 * code, for a page that explains a known one) or a success line afterwards.
 */
export interface Action {
  busy: boolean;
  error: string | null;
  code: string | null;
  done: string | null;
  run: (work: () => Promise<unknown>, success: string | null, after?: () => void) => void;
  fail: (text: string) => void;
}

export function useAction(): Action {
  const [state, setState] = useState<{ busy: boolean; error: string | null; code: string | null; done: string | null }>({
    busy: false,
    error: null,
    code: null,
    done: null,
  });
  const run = (work: () => Promise<unknown>, success: string | null, after?: () => void) => {
    setState({ busy: true, error: null, code: null, done: null });
    work().then(
      () => {
        setState({ busy: false, error: null, code: null, done: success });
        after?.();
      },
      (e: unknown) => setState({ busy: false, error: problemText(e), code: problemCode(e), done: null }),
    );
  };
  const fail = (text: string) => setState({ busy: false, error: text, code: null, done: null });
  return { ...state, run, fail };
}

/** The refusal and the success line of an Action, where the form shows them. */
export function ActionResult({ action, testId }: { action: Action; testId?: string }) {
  return (
    <>
      <Problem text={action.error} />
      {action.done && (
        <p role="status" data-testid={testId}>
          {action.done}
        </p>
      )}
    </>
  );
}

/**
 * A removal asked twice: the first button offers "really remove" (naming what goes) and cancel,
 * so one stray click removes nothing.
 */
export function RemoveTwice(props: {
  confirming: boolean;
  setConfirming: (confirming: boolean) => void;
  busy: boolean;
  onRemove: () => void;
  remove: string;
  reallyRemove: string;
}) {
  return props.confirming ? (
    <>
      <button type="button" class="primary" disabled={props.busy} onClick={props.onRemove}>
        {props.reallyRemove}
      </button>{' '}
      <button type="button" onClick={() => props.setConfirming(false)}>
        {t('account.cancel')}
      </button>
    </>
  ) : (
    <button type="button" onClick={() => props.setConfirming(true)}>
      {props.remove}
    </button>
  );
}
