import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, DateTime, Loading, useAction, useLoad } from '../components';
import { t } from '../i18n';

type Question = Schemas['VendorQuestion'];
type Status = Schemas['StatementInput']['status'];
export const VENDOR_STATUSES: Status[] = ['affected', 'not affected', 'under investigation'];

/**
 * The questions other teams asked this node as a vendor (GET /vendor-questions), each answered
 * per product with a signed vendor.statement (POST /vendor-questions/{id}/statement: the node
 * signs it and queues it for the asker; a product the question does not name is refused). What
 * we answered reads back (GET /vendor-questions/{id}/statements), for readers too: it is our own
 * answer, already disclosed to the asker. The question's title, description and products come
 * from another team: text only.
 */
export function VendorQuestions({ canWrite }: { canWrite: boolean }) {
  const asked = useLoad(() => unwrap(api().GET('/api/v1/vendor-questions', {})), []);
  const [open, setOpen] = useState<string | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  return (
    <section aria-labelledby="asked-of-us">
      <h2 id="asked-of-us">{t('cases.askedOfUs')}</h2>
      <Loading state={asked}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('common.none')}</p>
          ) : (
            <div class="scroll">
              <table class="list" data-testid="vendor-questions">
                <caption class="visually-hidden">{t('cases.askedOfUs')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('cases.asker')}</th>
                    <th scope="col">{t('cases.theirCase')}</th>
                    <th scope="col">{t('incident.title')}</th>
                    <th scope="col">{t('cases.products')}</th>
                    <th scope="col">{t('notifications.state')}</th>
                    <th scope="col">{t('cases.askedAt')}</th>
                    <th scope="col">{t('notifications.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((q) => (
                    <QuestionRow
                      key={q.id}
                      q={q}
                      canWrite={canWrite}
                      open={open === q.id}
                      onToggle={() => setOpen(open === q.id ? null : q.id)}
                      shown={shown === q.id}
                      onShow={() => setShown(shown === q.id ? null : q.id)}
                      onAnswered={asked.reload}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loading>
    </section>
  );
}

function QuestionRow(props: {
  q: Question;
  canWrite: boolean;
  open: boolean;
  onToggle: () => void;
  shown: boolean;
  onShow: () => void;
  onAnswered: () => void;
}) {
  const { q, canWrite, open } = props;
  const label = `${q.askerTeam ?? ''} ${q.caseId}`.trim();
  return (
    <>
      <tr data-testid={`vendor-question-${q.id}`}>
        <td>{q.askerTeam ?? '—'}</td>
        <td>{q.caseId}</td>
        <td>{q.question.title}</td>
        <td>{q.question.products.map((p) => `${p.product} ${p.versions.join(', ')}`).join('; ')}</td>
        <td>{t(`cases.questionState.${q.state}`)}</td>
        <td>
          <DateTime value={q.createdAt} />
        </td>
        <td>
          {canWrite && (
            <button type="button" aria-expanded={open} onClick={props.onToggle}>
              {t('cases.answerOpen', { question: label })}
            </button>
          )}{' '}
          {q.state === 'answered' && (
            <button type="button" aria-expanded={props.shown} onClick={props.onShow}>
              {t('ourStatement.show', { question: label })}
            </button>
          )}
        </td>
      </tr>
      {props.shown && (
        <tr>
          <td colSpan={7}>
            <SentStatements q={q} />
          </td>
        </tr>
      )}
      {open && (
        <tr>
          <td colSpan={7}>
            <AnswerForm q={q} onAnswered={props.onAnswered} />
          </td>
        </tr>
      )}
    </>
  );
}

/** What we sent as the vendor, per product, oldest first (the newest per product is in force), with its delivery. */
function SentStatements({ q }: { q: Question }) {
  const sent = useLoad(() => unwrap(api().GET('/api/v1/vendor-questions/{id}/statements', { params: { path: { id: q.id } } })), [q.id]);
  return (
    <section aria-labelledby={`sent-${q.id}-title`} data-testid={`sent-statements-${q.id}`}>
      <h3 id={`sent-${q.id}-title`}>{t('ourStatement.title', { title: q.question.title })}</h3>
      <Loading state={sent}>
        {(page) =>
          page.items.length === 0 ? (
            <p class="muted">{t('common.none')}</p>
          ) : (
            <table class="list">
              <caption class="visually-hidden">{t('ourStatement.title', { title: q.question.title })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('cases.product')}</th>
                  <th scope="col">{t('cases.status')}</th>
                  <th scope="col">{t('cases.fixedVersions')}</th>
                  <th scope="col">{t('cases.statementText')}</th>
                  <th scope="col">{t('cases.delivery')}</th>
                  <th scope="col">{t('ourStatement.sentBy')}</th>
                  <th scope="col">{t('cases.recorded')}</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((s, n) => (
                  <tr key={n}>
                    <td>{s.product}</td>
                    <td>{t(`cases.vendorStatus.${s.status}`)}</td>
                    <td>{s.fixedVersions.join(', ')}</td>
                    <td class="text-block">{s.text ?? '—'}</td>
                    <td>{s.delivery ?? '—'}</td>
                    <td>{s.recordedBy}</td>
                    <td>
                      <DateTime value={s.recordedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
}

function AnswerForm({ q, onAnswered }: { q: Question; onAnswered: () => void }) {
  const products = q.question.products.map((p) => p.product);
  const [product, setProduct] = useState(products[0] ?? '');
  const [status, setStatus] = useState<Status>('under investigation');
  const [fixed, setFixed] = useState('');
  const [text, setText] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const fixedVersions = fixed.split(/[\s,]+/).filter(Boolean);
    const body: Schemas['StatementInput'] = {
      product,
      status,
      ...(fixedVersions.length ? { fixedVersions } : {}),
      ...(text.trim() ? { text: text.trim() } : {}),
    };
    action.run(
      () => unwrap(api().POST('/api/v1/vendor-questions/{id}/statement', { params: { path: { id: q.id } }, body })),
      t('cases.answeredDone', { team: q.askerTeam ?? '' }),
      onAnswered,
    );
  };
  const id = (field: string) => `answer-${q.id}-${field}`;
  return (
    <form class="stacked" onSubmit={submit} data-testid={`answer-${q.id}`} aria-labelledby={id('heading')}>
      <h3 id={id('heading')}>{t('cases.answerTitle', { title: q.question.title })}</h3>
      <p class="text-block" data-testid={`question-description-${q.id}`}>
        {q.question.description}
      </p>
      {q.question.cveIds.length > 0 && (
        <p>
          {t('cases.cves')}: {q.question.cveIds.join(', ')}
        </p>
      )}
      <p class="muted">{t('cases.answerHint')}</p>
      <label for={id('product')}>{t('cases.product')}</label>
      <select id={id('product')} onChange={(e) => setProduct(e.currentTarget.value)}>
        {products.map((p) => (
          <option key={p} value={p} selected={p === product}>
            {p}
          </option>
        ))}
      </select>
      <label for={id('status')}>{t('cases.status')}</label>
      <select id={id('status')} onChange={(e) => setStatus(e.currentTarget.value as Status)}>
        {VENDOR_STATUSES.map((s) => (
          <option key={s} value={s} selected={s === status}>
            {t(`cases.vendorStatus.${s}`)}
          </option>
        ))}
      </select>
      <label for={id('fixed')}>{t('cases.fixedVersionsField')}</label>
      <input id={id('fixed')} value={fixed} onInput={(e) => setFixed(e.currentTarget.value)} />
      <label for={id('text')}>{t('cases.statementText')}</label>
      <textarea id={id('text')} rows={3} maxLength={10000} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit" disabled={action.busy}>
        {t('cases.answerSubmit')}
      </button>
      <ActionResult action={action} testId={`answered-${q.id}`} />
    </form>
  );
}
