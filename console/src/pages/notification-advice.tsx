import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, Loading, useAction, useLoad } from '../components';
import { t } from '../i18n';

type Notification = Schemas['SiteNotification'];
type Language = Notification['language'];
const LANGUAGES: Language[] = ['ja', 'en'];

/**
 * A drafted site notification's text, changed before approval (PATCH /notifications/{id}): the
 * counter-measure template and the language it is written in (GET /counter-measures: the team's
 * templates and the built-in ones; picking one drops an edited advice, the node's rule), and the
 * advice itself. The text the site will read is shown as the node renders it (GET
 * /notifications/{id}); an empty advice, or "back to the template", lets the template write it
 * again. Template titles can be the team's own words: text only.
 */
export function NotificationAdvice({ n, onSaved }: { n: Notification; onSaved: () => void }) {
  const path = { id: n.id };
  const rendered = useLoad(() => unwrap(api().GET('/api/v1/notifications/{id}', { params: { path } })), [n.id]);
  const [text, setText] = useState(n.advice ?? '');
  const action = useAction();
  const patch = (body: Schemas['NotificationPatch'], success: string, after?: () => void) =>
    action.run(
      () => unwrap(api().PATCH('/api/v1/notifications/{id}', { params: { path }, body })),
      success,
      () => {
        after?.();
        rendered.reload();
        onSaved();
      },
    );
  const save = (value: string | null) =>
    patch({ advice: value }, value === null ? t('advice.templateBack') : t('advice.saved'), () => value === null && setText(''));
  const fieldId = `advice-${n.id}`;
  return (
    <div class="stacked" data-testid={`advice-${n.id}`}>
      <TemplatePicker n={n} busy={action.busy} onPick={(body, success) => patch(body, success, () => setText(''))} />
      <form
        class="stacked"
        onSubmit={(e) => {
          e.preventDefault();
          save(text.trim() ? text : null);
        }}
      >
        <label for={fieldId}>{t('advice.label')}</label>
        <textarea id={fieldId} rows={6} maxLength={20000} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <p class="muted">{t('advice.hint')}</p>
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            {t('advice.save')}
          </button>
          <button type="button" disabled={action.busy} onClick={() => save(null)}>
            {t('advice.useTemplate')}
          </button>
        </div>
      </form>
      <ActionResult action={action} />
      <Loading state={rendered}>
        {(r) => (
          <details>
            <summary>{t('advice.rendered')}</summary>
            <pre tabIndex={0} data-testid={`advice-rendered-${n.id}`}>
              {r.text ?? ''}
            </pre>
          </details>
        )}
      </Loading>
    </div>
  );
}

/** The template and the language, sent together only where they changed. */
function TemplatePicker(props: { n: Notification; busy: boolean; onPick: (body: Schemas['NotificationPatch'], success: string) => void }) {
  const { n } = props;
  const templates = useLoad(() => unwrap(api().GET('/api/v1/counter-measures', {})), []);
  const [template, setTemplate] = useState(n.counterMeasure ?? '');
  const [language, setLanguage] = useState<Language>(n.language);
  const id = (field: string) => `template-${n.id}-${field}`;
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['NotificationPatch'] = {
      ...(template && template !== n.counterMeasure ? { counterMeasure: template } : {}),
      ...(language !== n.language ? { language } : {}),
    };
    if (Object.keys(body).length === 0) return;
    props.onPick(body, body.counterMeasure ? t('advice.templatePicked') : t('advice.languagePicked'));
  };
  return (
    <Loading state={templates}>
      {(list) => (
        <form class="stacked" onSubmit={submit} data-testid={`template-${n.id}`}>
          <label for={id('template')}>{t('advice.template')}</label>
          <select id={id('template')} onChange={(e) => setTemplate(e.currentTarget.value)}>
            {list.items.map((c) => (
              <option key={c.id} value={c.id} selected={c.id === template}>
                {c.title} ({c.id}
                {c.source === 'team' ? `, ${t('advice.teamTemplate')}` : ''})
              </option>
            ))}
          </select>
          <label for={id('language')}>{t('advice.language')}</label>
          <select id={id('language')} onChange={(e) => setLanguage(e.currentTarget.value as Language)}>
            {LANGUAGES.map((l) => (
              <option key={l} value={l} selected={l === language}>
                {t(`advice.language.${l}`)}
              </option>
            ))}
          </select>
          <p class="muted">{t('advice.templateHint')}</p>
          <button type="submit" disabled={props.busy}>
            {t('advice.useThisTemplate')}
          </button>
        </form>
      )}
    </Loading>
  );
}
