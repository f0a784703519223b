import { useState } from 'preact/hooks';
import { api, unwrap } from '../api';
import { ActionResult, Loading, useAction, useLoad } from '../components';
import { t } from '../i18n';

/**
 * A drafted site notification's advice, edited before approval (PATCH /notifications/{id}
 * {advice}): the text the site will read is shown as the node renders it (GET
 * /notifications/{id}), and an empty advice, or "back to the template", lets the counter-measure
 * template write it again.
 */
export function NotificationAdvice({ id, advice, onSaved }: { id: string; advice: string | null; onSaved: () => void }) {
  const path = { id };
  const rendered = useLoad(() => unwrap(api().GET('/api/v1/notifications/{id}', { params: { path } })), [id]);
  const [text, setText] = useState(advice ?? '');
  const action = useAction();
  const save = (value: string | null) =>
    action.run(
      () => unwrap(api().PATCH('/api/v1/notifications/{id}', { params: { path }, body: { advice: value } })),
      value === null ? t('advice.templateBack') : t('advice.saved'),
      () => {
        if (value === null) setText('');
        rendered.reload();
        onSaved();
      },
    );
  const fieldId = `advice-${id}`;
  return (
    <form
      class="stacked"
      data-testid={`advice-${id}`}
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
      <ActionResult action={action} />
      <Loading state={rendered}>
        {(n) => (
          <details>
            <summary>{t('advice.rendered')}</summary>
            <pre tabIndex={0} data-testid={`advice-rendered-${id}`}>
              {n.text ?? ''}
            </pre>
          </details>
        )}
      </Loading>
    </form>
  );
}
