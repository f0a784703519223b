import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, Loading, RemoveTwice, useAction, useLoad } from '../components';
import { CATEGORIES } from '../enums';
import { t } from '../i18n';

type CounterMeasure = Schemas['CounterMeasure'];
type Put = Schemas['CounterMeasurePut'];

/**
 * The counter-measure templates a draft site notification's advice is written from (GET
 * /counter-measures: the team's and the built-in ones). An admin writes the team's own (PUT
 * /counter-measures/{id}; the node's rule), changes one, or removes it (DELETE; a built-in one
 * of the same id shows again); saving a built-in one's id makes the team's version, which wins.
 * Titles and texts are the team's words: text only.
 */
export function CounterMeasuresPage({ admin }: { admin: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/counter-measures', {})), []);
  const [adding, setAdding] = useState(false);
  return (
    <section>
      <h1>{t('templates.title')}</h1>
      <p class="muted">{t('templates.intro')}</p>
      {admin &&
        (adding ? (
          <TemplateForm
            template={null}
            onSaved={() => {
              setAdding(false);
              list.reload();
            }}
            onCancel={() => setAdding(false)}
          />
        ) : (
          <p>
            <button type="button" onClick={() => setAdding(true)}>
              {t('templates.new')}
            </button>
          </p>
        ))}
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p>{t('common.none')}</p>
          ) : (
            <>
              {page.items.map((c) => (
                <TemplateCard key={`${c.source}-${c.id}`} template={c} admin={admin} onChanged={list.reload} />
              ))}
            </>
          )
        }
      </Loading>
    </section>
  );
}

function TemplateCard({ template: c, admin, onChanged }: { template: CounterMeasure; admin: boolean; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  const action = useAction();
  const heading = `template-${c.id}-title`;
  const remove = () =>
    action.run(() => unwrap(api().DELETE('/api/v1/counter-measures/{id}', { params: { path: { id: c.id } } })), null, onChanged);
  return (
    <article class="panel" aria-labelledby={heading} data-testid={`template-card-${c.id}`}>
      <h2 id={heading}>{c.title}</h2>
      <p>
        <code>{c.id}</code> · {t(`templates.source.${c.source}`)}
        {c.category ? ` · ${t(`category.${c.category}`)}` : ''}
        {c.types.length ? ` · ${c.types.join(', ')}` : ''}
      </p>
      {(['en', 'ja'] as const).map((language) =>
        c.texts[language] ? (
          <div key={language}>
            <h3>{t(`templates.text.${language}`)}</h3>
            <p class="text-block">{c.texts[language]}</p>
          </div>
        ) : null,
      )}
      {admin && (
        <div class="actions">
          <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {t('templates.edit', { title: c.title })}
          </button>{' '}
          {c.source === 'team' && (
            <RemoveTwice
              confirming={removing}
              setConfirming={setRemoving}
              busy={action.busy}
              onRemove={remove}
              remove={t('templates.remove', { title: c.title })}
              reallyRemove={t('templates.reallyRemove', { title: c.title })}
            />
          )}
        </div>
      )}
      {removing && <p class="muted">{t('templates.removeHint')}</p>}
      <ActionResult action={action} />
      {editing && (
        <TemplateForm
          template={c}
          onSaved={() => {
            setEditing(false);
            onChanged();
          }}
          onCancel={() => setEditing(false)}
        />
      )}
    </article>
  );
}

function TemplateForm(props: { template: CounterMeasure | null; onSaved: () => void; onCancel: () => void }) {
  const c = props.template;
  const [id, setId] = useState(c?.id ?? '');
  const [title, setTitle] = useState(c?.title ?? '');
  const [category, setCategory] = useState<string>(c?.category ?? '');
  const [types, setTypes] = useState((c?.types ?? []).join(', '));
  const [en, setEn] = useState(c?.texts.en ?? '');
  const [ja, setJa] = useState(c?.texts.ja ?? '');
  const action = useAction();
  const prefix = c ? `template-edit-${c.id}` : 'template-new';
  const field = (name: string) => `${prefix}-${name}`;
  const submit = (e: Event) => {
    e.preventDefault();
    const typeList = types
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean) as Put['types'];
    const body: Put = {
      title: title.trim(),
      ...(category ? { category: category as NonNullable<Put['category']> } : {}),
      ...(typeList && typeList.length ? { types: typeList } : {}),
      texts: { ...(en.trim() ? { en } : {}), ...(ja.trim() ? { ja } : {}) },
    };
    if (!body.texts.en && !body.texts.ja) return action.fail(t('templates.needText'));
    action.run(
      () => unwrap(api().PUT('/api/v1/counter-measures/{id}', { params: { path: { id: id.trim() } }, body })),
      null,
      props.onSaved,
    );
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid={prefix} aria-labelledby={field('heading')}>
      <h3 id={field('heading')}>{c ? t('templates.editTitle', { title: c.title }) : t('templates.newTitle')}</h3>
      {c?.source === 'built-in' && <p class="muted">{t('templates.overrideHint')}</p>}
      <label for={field('id')}>{t('templates.id')}</label>
      <input id={field('id')} required readOnly={c !== null} value={id} onInput={(e) => setId(e.currentTarget.value)} />
      <label for={field('title')}>{t('templates.titleField')}</label>
      <input id={field('title')} required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for={field('category')}>{t('incident.category')}</label>
      <select id={field('category')} onChange={(e) => setCategory(e.currentTarget.value)}>
        <option value="" selected={category === ''}>
          {t('templates.anyCategory')}
        </option>
        {CATEGORIES.map((k) => (
          <option key={k} value={k} selected={k === category}>
            {t(`category.${k}`)}
          </option>
        ))}
      </select>
      <label for={field('types')}>{t('templates.types')}</label>
      <input id={field('types')} value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
      <label for={field('en')}>{t('templates.text.en')}</label>
      <textarea id={field('en')} rows={5} maxLength={20000} value={en} onInput={(e) => setEn(e.currentTarget.value)} />
      <label for={field('ja')}>{t('templates.text.ja')}</label>
      <textarea id={field('ja')} rows={5} maxLength={20000} value={ja} onInput={(e) => setJa(e.currentTarget.value)} />
      <p class="muted">{t('templates.placeholders')}</p>
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {t('templates.save')}
        </button>{' '}
        <button type="button" onClick={props.onCancel}>
          {t('account.cancel')}
        </button>
      </div>
      <ActionResult action={action} />
    </form>
  );
}
