import { useState } from 'preact/hooks';
import { api, problemText, unwrap, type Schemas } from '../api';
import { DateTime, Loading, Problem, Tlp, useLoad } from '../components';
import { t } from '../i18n';

type Answer = Schemas['InquiryAnswerInput']['answer'];

/** Forum inquiries (issue 14): what members asked us, what matched here, and our answer; and what we asked. */
export function InquiriesPage({ canWrite }: { canWrite: boolean }) {
  const list = useLoad(() => unwrap(api().GET('/api/v1/inquiries', {})), []);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section>
      <h1>{t('inquiries.title')}</h1>
      <Loading state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p>{t('inquiries.none')}</p>
          ) : (
            <table class="list" data-testid="inquiries">
              <caption class="visually-hidden">{t('inquiries.title')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('inquiries.direction')}</th>
                  <th scope="col">{t('inquiries.forum')}</th>
                  <th scope="col">{t('inquiries.poster')}</th>
                  <th scope="col">TLP</th>
                  <th scope="col">{t('inquiries.matches')}</th>
                  <th scope="col">{t('inquiries.answers')}</th>
                  <th scope="col">{t('incident.createdAt')}</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((i) => (
                  <tr key={i.id}>
                    <td>
                      <button type="button" class="link" aria-expanded={open === i.id} onClick={() => setOpen(open === i.id ? null : i.id)}>
                        {t(`inquiries.direction.${i.direction}`)}
                      </button>
                    </td>
                    <td>{i.forum}</td>
                    <td>{i.poster}</td>
                    <td>
                      <Tlp tlp={i.tlp} />
                    </td>
                    <td>{i.matchCount}</td>
                    <td>{i.answerCount}</td>
                    <td>
                      <DateTime value={i.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {open ? <InquiryDetail key={open} id={open} canWrite={canWrite} onAnswered={list.reload} /> : null}
    </section>
  );
}

function InquiryDetail({ id, canWrite, onAnswered }: { id: string; canWrite: boolean; onAnswered: () => void }) {
  const state = useLoad(() => unwrap(api().GET('/api/v1/inquiries/{id}', { params: { path: { id } } })), [id]);
  return (
    <Loading state={state}>
      {(i) => (
        <article class="panel" data-testid="inquiry">
          <h2>{t('inquiries.question')}</h2>
          <p class="prose">{i.question}</p>
          <p>
            {t('inquiries.asked', {
              values: [
                ...(i.hosts ?? []).map((h) => h.ip ?? h.hostname ?? ''),
                ...(i.domains ?? []),
                ...(i.networks ?? []),
                ...(i.indicators ?? []).map((x) => x.value),
              ].join(', '),
            })}
          </p>
          <h3>{t('inquiries.matches')}</h3>
          {i.matches.length === 0 ? (
            <p>{t('common.none')}</p>
          ) : (
            <ul data-testid="inquiry-matches">
              {i.matches.map((m) => (
                <li key={`${m.kind}-${m.id}-${m.value}`}>
                  {m.kind}: {m.label} ({m.matchedOn} {m.value})
                </li>
              ))}
            </ul>
          )}
          <h3>{t('inquiries.answers')}</h3>
          {i.answers.length === 0 ? (
            <p>{t('common.none')}</p>
          ) : (
            <ul data-testid="inquiry-answers">
              {i.answers.map((a, n) => (
                <li key={n}>
                  {a.team}: {t(`answer.${a.answer}`)} {a.ref ? `(${a.ref})` : ''} {a.note ? `— ${a.note}` : ''} · <DateTime value={a.at} />
                </li>
              ))}
            </ul>
          )}
          {i.direction === 'received' && canWrite ? (
            <AnswerForm
              id={i.id}
              ownRef={i.matches.find((m) => m.kind === 'incident')?.id ?? ''}
              onAnswered={() => {
                state.reload();
                onAnswered();
              }}
            />
          ) : null}
        </article>
      )}
    </Loading>
  );
}

function AnswerForm({ id, ownRef, onAnswered }: { id: string; ownRef: string; onAnswered: () => void }) {
  const [answer, setAnswer] = useState<Answer>(ownRef ? 'seen' : 'not-seen');
  const [note, setNote] = useState('');
  const [ref, setRef] = useState(ownRef);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    setError(null);
    const body = { answer, ...(note ? { note } : {}), ...(ref ? { ref } : {}) };
    api()
      .POST('/api/v1/inquiries/{id}/answer', { params: { path: { id } }, body })
      .then(onAnswered, (err: unknown) => setError(problemText(err)));
  };
  return (
    <form class="stacked" onSubmit={submit} aria-labelledby="answer-title">
      <h3 id="answer-title">{t('inquiries.answer')}</h3>
      <fieldset>
        <legend>{t('inquiries.answerKind')}</legend>
        {(['seen', 'not-seen', 'affected'] as const).map((a) => (
          <label key={a} class="radio">
            <input type="radio" name="answer" value={a} checked={answer === a} onChange={() => setAnswer(a)} /> {t(`answer.${a}`)}
          </label>
        ))}
      </fieldset>
      <label for="answer-ref">{t('inquiries.ourRef')}</label>
      <input id="answer-ref" value={ref} onInput={(e) => setRef(e.currentTarget.value)} />
      <label for="answer-note">{t('journal.note')}</label>
      <textarea id="answer-note" rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      <button type="submit">{t('inquiries.send')}</button>
      <Problem text={error} />
    </form>
  );
}
