import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, Loading, useAction, useLoad } from '../components';
import { TLPS } from '../enums';
import { t } from '../i18n';
import { RowEditor, rowsToItems, type Column, type Row } from './incident-rows';

type Case = Schemas['VulnerabilityCase'];
type CaseCreate = Schemas['CaseCreate'];
type Fields = Omit<CaseCreate, 'id'>;

const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/**
 * A vulnerability case opened (POST /cases) or changed (PATCH /cases/{id}) with one form: title,
 * description (it goes to the party vendors), TLP, the products row by row (vendor, product,
 * versions), CVE ids, the embargo, the party vendors (none ticked when opening: every product's
 * vendor) and our linked incidents. An edit sends only the fields that changed. The node checks
 * every vendor and reference number and names the field it refuses.
 */
export function CaseForm({ kase, onSaved }: { kase?: Case; onSaved: (id: string) => void }) {
  const vendors = useLoad(() => unwrap(api().GET('/api/v1/vendors', {})), []);
  return (
    <Loading state={vendors}>{(page) => <CaseFields kase={kase} vendorIds={page.items.map((v) => v.id)} onSaved={onSaved} />}</Loading>
  );
}

/** The form itself, for a page that holds the vendor list already (and reloads it when one is added). */
export function CaseFields({ kase, vendorIds, onSaved }: { kase?: Case; vendorIds: string[]; onSaved: (id: string) => void }) {
  const [id, setId] = useState('');
  const [title, setTitle] = useState(kase?.title ?? '');
  const [description, setDescription] = useState(kase?.description ?? '');
  const [tlp, setTlp] = useState<Case['tlp']>(kase?.tlp ?? 'AMBER');
  const [products, setProducts] = useState<Row[]>(
    (kase?.products ?? []).map((p) => ({ vendor: p.vendor, product: p.product, versions: p.versions.join(', ') })),
  );
  const [cves, setCves] = useState((kase?.cveIds ?? []).join(', '));
  const [embargo, setEmbargo] = useState(kase?.embargoUntil ?? '');
  const [parties, setParties] = useState<string[]>(kase?.parties ?? []);
  const [incidents, setIncidents] = useState((kase?.incidents ?? []).join(', '));
  const action = useAction();
  const prefix = kase ? `case-edit` : 'case-new';
  const columns: Column[] = [
    { key: 'vendor', kind: 'select', values: vendorIds },
    { key: 'product', kind: 'text', required: true },
    { key: 'versions', kind: 'text', required: true },
  ];
  const fields = (): Fields => ({
    title: title.trim(),
    description,
    tlp,
    products: rowsToItems(products, columns).map((p) => ({ ...p, versions: list(String(p['versions'] ?? '')) })) as Fields['products'],
    cveIds: list(cves),
    embargoUntil: embargo.trim() || null,
    parties,
    incidents: incidents
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  });
  const submit = (e: Event) => {
    e.preventDefault();
    const next = fields();
    if (!kase) {
      // Left out when empty: no embargo, and the node makes every product's vendor a party.
      const { parties: chosen, embargoUntil, ...rest } = next;
      const body: CaseCreate = {
        id: id.trim(),
        ...rest,
        ...(chosen?.length ? { parties: chosen } : {}),
        ...(embargoUntil ? { embargoUntil } : {}),
      };
      action.run(
        () => unwrap(api().POST('/api/v1/cases', { body })),
        t('caseForm.opened', { id: body.id }),
        () => onSaved(body.id),
      );
      return;
    }
    const before: Record<string, unknown> = { ...kase };
    const body = Object.fromEntries(
      Object.entries(next).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(before[key])),
    ) as Schemas['CasePatch'];
    if (Object.keys(body).length === 0) return action.fail(t('vendors.nothingChanged'));
    action.run(
      () => unwrap(api().PATCH('/api/v1/cases/{id}', { params: { path: { id: kase.id } }, body })),
      t('caseForm.saved', { id: kase.id }),
      () => onSaved(kase.id),
    );
  };
  const field = (name: string) => `${prefix}-${name}`;
  return (
    <form class="stacked" onSubmit={submit} data-testid={prefix} aria-labelledby={field('title-heading')}>
      <h3 id={field('title-heading')}>{kase ? t('caseForm.edit', { id: kase.id }) : t('caseForm.open')}</h3>
      {!kase && (
        <>
          <label for={field('id')}>{t('caseForm.id')}</label>
          <input id={field('id')} required maxLength={63} value={id} onInput={(e) => setId(e.currentTarget.value)} />
        </>
      )}
      <label for={field('title')}>{t('incident.title')}</label>
      <input id={field('title')} required maxLength={300} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <label for={field('description')}>{t('caseForm.description')}</label>
      <textarea
        id={field('description')}
        required
        rows={5}
        maxLength={20000}
        value={description}
        onInput={(e) => setDescription(e.currentTarget.value)}
      />
      <label for={field('tlp')}>{t('incident.tlp')}</label>
      <select id={field('tlp')} onChange={(e) => setTlp(e.currentTarget.value as Case['tlp'])}>
        {TLPS.map((v) => (
          <option key={v} value={v} selected={v === tlp}>
            {v}
          </option>
        ))}
      </select>
      <RowEditor
        id={`${prefix}-products`}
        title="caseForm.products"
        item="caseForm.product"
        columns={columns}
        rows={products}
        onChange={setProducts}
      />
      <label for={field('cves')}>{t('caseForm.cves')}</label>
      <input id={field('cves')} value={cves} onInput={(e) => setCves(e.currentTarget.value)} />
      <label for={field('embargo')}>{t('caseForm.embargo')}</label>
      <input id={field('embargo')} value={embargo} placeholder="2027-01-15T00:00:00Z" onInput={(e) => setEmbargo(e.currentTarget.value)} />
      <fieldset>
        <legend>{kase ? t('cases.parties') : t('caseForm.partiesDefault')}</legend>
        {vendorIds.map((v) => (
          <label key={v} class="radio">
            <input
              type="checkbox"
              checked={parties.includes(v)}
              onChange={(e) => setParties(e.currentTarget.checked ? [...parties, v] : parties.filter((p) => p !== v))}
            />{' '}
            {t('caseForm.party', { vendor: v })}
          </label>
        ))}
      </fieldset>
      <label for={field('incidents')}>{t('caseForm.incidents')}</label>
      <input id={field('incidents')} value={incidents} onInput={(e) => setIncidents(e.currentTarget.value)} />
      <button type="submit" disabled={action.busy}>
        {kase ? t('caseForm.save') : t('caseForm.create')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
