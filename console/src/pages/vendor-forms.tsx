import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, useAction } from '../components';
import { t } from '../i18n';

type Vendor = Schemas['Vendor'];

/**
 * Vendors added and changed (POST/PATCH/DELETE /vendors): a vendor runs a node (a peer of ours,
 * its key the peer's) or is reached by signed e-mail with a pinned key, pinned only if it has the
 * fingerprint typed next to it (the node checks: 409 fingerprint-mismatch). A vendor a case names
 * is not removed (409 conflict, shown). Removing asks for a second click, never confirm().
 */
export function VendorCreateForm({ onCreated }: { onCreated: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [channel, setChannel] = useState<Vendor['channel']>('email');
  const [teamId, setTeamId] = useState('');
  const [email, setEmail] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [fingerprint, setFingerprint] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['VendorCreate'] =
      channel === 'federation'
        ? { id: id.trim(), name: name.trim(), teamId: teamId.trim().toLowerCase() }
        : { id: id.trim(), name: name.trim(), email: email.trim(), publicKey, fingerprint: fingerprint.replace(/\s+/g, '') };
    action.run(
      () => unwrap(api().POST('/api/v1/vendors', { body })),
      t('vendors.created', { id: body.id }),
      () => {
        setId('');
        setName('');
        setTeamId('');
        setEmail('');
        setPublicKey('');
        setFingerprint('');
        onCreated();
      },
    );
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid="vendor-create" aria-labelledby="vendor-create-title">
      <h3 id="vendor-create-title">{t('vendors.add')}</h3>
      <label for="vendor-new-id">{t('cases.vendorId')}</label>
      <input id="vendor-new-id" required value={id} maxLength={63} onInput={(e) => setId(e.currentTarget.value)} />
      <label for="vendor-new-name">{t('cases.vendorName')}</label>
      <input id="vendor-new-name" required value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="vendor-new-channel">{t('vendors.channel')}</label>
      <select id="vendor-new-channel" onChange={(e) => setChannel(e.currentTarget.value as Vendor['channel'])}>
        <option value="email" selected={channel === 'email'}>
          {t('cases.channel.email')}
        </option>
        <option value="federation" selected={channel === 'federation'}>
          {t('cases.channel.federation')}
        </option>
      </select>
      {channel === 'federation' ? (
        <>
          <label for="vendor-new-team">{t('vendors.teamId')}</label>
          <input id="vendor-new-team" required value={teamId} onInput={(e) => setTeamId(e.currentTarget.value)} />
        </>
      ) : (
        <KeyFields prefix="vendor-new" required {...{ email, setEmail, publicKey, setPublicKey, fingerprint, setFingerprint }} />
      )}
      <button type="submit" disabled={action.busy}>
        {t('vendors.create')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}

function KeyFields(props: {
  prefix: string;
  required: boolean;
  email: string;
  setEmail: (v: string) => void;
  publicKey: string;
  setPublicKey: (v: string) => void;
  fingerprint: string;
  setFingerprint: (v: string) => void;
}) {
  const { prefix } = props;
  return (
    <>
      <label for={`${prefix}-email`}>{t('vendors.email')}</label>
      <input
        id={`${prefix}-email`}
        type="email"
        required={props.required}
        value={props.email}
        onInput={(e) => props.setEmail(e.currentTarget.value)}
      />
      <label for={`${prefix}-key`}>{props.required ? t('vendors.publicKey') : t('vendors.newPublicKey')}</label>
      <textarea
        id={`${prefix}-key`}
        rows={4}
        required={props.required}
        value={props.publicKey}
        onInput={(e) => props.setPublicKey(e.currentTarget.value)}
      />
      <label for={`${prefix}-fingerprint`}>{t('vendors.fingerprint')}</label>
      <input
        id={`${prefix}-fingerprint`}
        required={props.required}
        value={props.fingerprint}
        onInput={(e) => props.setFingerprint(e.currentTarget.value)}
      />
    </>
  );
}

/** One vendor's name (and, for an e-mail vendor, address and key) changed, or the vendor removed. */
export function VendorEditForm({ vendor, onChanged }: { vendor: Vendor; onChanged: () => void }) {
  const [name, setName] = useState(vendor.name);
  const [email, setEmail] = useState(vendor.email ?? '');
  const [publicKey, setPublicKey] = useState('');
  const [fingerprint, setFingerprint] = useState('');
  const [removing, setRemoving] = useState(false);
  const action = useAction();
  const path = { id: vendor.id };
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['VendorPatch'] = {
      ...(name.trim() !== vendor.name ? { name: name.trim() } : {}),
      ...(vendor.channel === 'email' && email.trim() !== (vendor.email ?? '') ? { email: email.trim() } : {}),
      ...(publicKey.trim() || fingerprint.trim() ? { publicKey, fingerprint: fingerprint.replace(/\s+/g, '') } : {}),
    };
    if (Object.keys(body).length === 0) return action.fail(t('vendors.nothingChanged'));
    action.run(
      () => unwrap(api().PATCH('/api/v1/vendors/{id}', { params: { path }, body })),
      t('vendors.saved', { id: vendor.id }),
      () => {
        setPublicKey('');
        setFingerprint('');
        onChanged();
      },
    );
  };
  const remove = () =>
    action.run(
      () => unwrap(api().DELETE('/api/v1/vendors/{id}', { params: { path } })),
      null,
      () => {
        setRemoving(false);
        onChanged();
      },
    );
  const prefix = `vendor-${vendor.id}`;
  return (
    <form class="stacked" onSubmit={submit} data-testid={`vendor-edit-${vendor.id}`} aria-label={t('vendors.editOf', { id: vendor.id })}>
      <label for={`${prefix}-name`}>{t('cases.vendorName')}</label>
      <input id={`${prefix}-name`} required value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      {vendor.channel === 'email' ? (
        <KeyFields prefix={prefix} required={false} {...{ email, setEmail, publicKey, setPublicKey, fingerprint, setFingerprint }} />
      ) : (
        <p class="muted">{t('vendors.nodeKey', { team: vendor.teamId ?? '' })}</p>
      )}
      <div class="actions">
        <button type="submit" disabled={action.busy}>
          {t('vendors.save', { id: vendor.id })}
        </button>
        {removing ? (
          <button type="button" disabled={action.busy} onClick={remove}>
            {t('vendors.reallyRemove', { id: vendor.id })}
          </button>
        ) : (
          <button type="button" onClick={() => setRemoving(true)}>
            {t('vendors.remove', { id: vendor.id })}
          </button>
        )}
      </div>
      <ActionResult action={action} />
    </form>
  );
}
