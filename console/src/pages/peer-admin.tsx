import { useState } from 'preact/hooks';
import { api, unwrap, type Schemas } from '../api';
import { ActionResult, RemoveTwice, useAction } from '../components';
import { RELATIONSHIPS, TRUST_LEVELS } from '../enums';
import { t, type MessageKey } from '../i18n';

type Peer = Schemas['Peer'];
type Relationship = Peer['relationship'];
type TrustLevel = Peer['trustLevel'];

/**
 * An admin's peer management (the node's rule: every peer route is admin-only): add a team by
 * its node's URL (the node fetches and checks its signed profile, and pins the key unverified)
 * or, for a team without a node, by its e-mail address and key; change its relationship and
 * trust; suspend, resume or remove it. The fingerprint the node pinned is shown at once, since
 * the next step is to confirm it with the team out of band.
 */
export function PeerAddForms({ onAdded }: { onAdded: () => void }) {
  const [added, setAdded] = useState<Schemas['PeerWithHint'] | null>(null);
  const done = (peer: Schemas['PeerWithHint']) => {
    setAdded(peer);
    onAdded();
  };
  return (
    <section class="panel" aria-labelledby="peer-add-title">
      <h2 id="peer-add-title">{t('peerAdmin.addTitle')}</h2>
      <p class="muted">{t('peerAdmin.addHint')}</p>
      <NodePeerForm onAdded={done} />
      <MailPeerForm onAdded={done} />
      {added && (
        <div role="status" data-testid="peer-added">
          <p>{t('peerAdmin.added', { team: added.teamId, name: added.name })}</p>
          <p>
            {t('peers.fingerprint')}: <code class="fingerprint">{added.fingerprint.replace(/(.{4})/g, '$1 ').trim()}</code>
          </p>
          {added.confirm && <p class="text-block">{added.confirm}</p>}
        </div>
      )}
    </section>
  );
}

/** One of the level selects; with a default, empty leaves the node's choice. */
function LevelSelect(props: {
  id: string;
  label: string;
  values: readonly string[];
  /** The message key prefix of each value's name (relationship., trust.). */
  names: string;
  value: string;
  onChange: (value: string) => void;
  withDefault: boolean;
}) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.withDefault && (
          <option value="" selected={props.value === ''}>
            {t('peerAdmin.nodeDefault')}
          </option>
        )}
        {props.values.map((v) => (
          <option key={v} value={v} selected={v === props.value}>
            {t(`${props.names}${v}` as MessageKey)}
          </option>
        ))}
      </select>
    </>
  );
}

/** The relationship and trust selects both add forms offer; empty leaves the node's default. */
function LevelSelects(props: {
  idPrefix: string;
  relationship: string;
  trustLevel: string;
  onRelationship: (value: string) => void;
  onTrustLevel: (value: string) => void;
  withDefault: boolean;
}) {
  const { idPrefix, withDefault } = props;
  return (
    <>
      <LevelSelect
        id={`${idPrefix}-relationship`}
        label={t('peers.relationship')}
        values={RELATIONSHIPS}
        names="relationship."
        value={props.relationship}
        onChange={props.onRelationship}
        withDefault={withDefault}
      />
      <LevelSelect
        id={`${idPrefix}-trust`}
        label={t('peers.trustLevel')}
        values={TRUST_LEVELS}
        names="trust."
        value={props.trustLevel}
        onChange={props.onTrustLevel}
        withDefault={withDefault}
      />
    </>
  );
}

const levels = (relationship: string, trustLevel: string) => ({
  ...(relationship ? { relationship: relationship as Relationship } : {}),
  ...(trustLevel ? { trustLevel: trustLevel as TrustLevel } : {}),
});

function NodePeerForm({ onAdded }: { onAdded: (peer: Schemas['PeerWithHint']) => void }) {
  const [url, setUrl] = useState('');
  const [relationship, setRelationship] = useState('');
  const [trustLevel, setTrustLevel] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    action.run(
      () => unwrap(api().POST('/api/v1/peers', { body: { url: url.trim(), ...levels(relationship, trustLevel) } })).then(onAdded),
      null,
      () => setUrl(''),
    );
  };
  return (
    <form class="stacked" onSubmit={submit} data-testid="peer-add-node" aria-labelledby="peer-add-node-title">
      <h3 id="peer-add-node-title">{t('peerAdmin.byNode')}</h3>
      <label for="peer-add-url">{t('peerAdmin.url')}</label>
      <input id="peer-add-url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      <LevelSelects
        idPrefix="peer-add-node"
        relationship={relationship}
        trustLevel={trustLevel}
        onRelationship={setRelationship}
        onTrustLevel={setTrustLevel}
        withDefault
      />
      <button type="submit" disabled={action.busy}>
        {t('peerAdmin.addNode')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}

function MailPeerForm({ onAdded }: { onAdded: (peer: Schemas['PeerWithHint']) => void }) {
  const empty = { teamId: '', name: '', email: '', publicKey: '', fingerprint: '' };
  const [form, setForm] = useState(empty);
  const [relationship, setRelationship] = useState('');
  const [trustLevel, setTrustLevel] = useState('');
  const action = useAction();
  const field = (key: keyof typeof empty) => (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const submit = (e: Event) => {
    e.preventDefault();
    const body: Schemas['PeerMailAdd'] = {
      teamId: form.teamId.trim().toLowerCase(),
      name: form.name.trim(),
      email: form.email.trim(),
      publicKey: form.publicKey,
      ...(form.fingerprint.trim() ? { fingerprint: form.fingerprint.trim() } : {}),
      ...levels(relationship, trustLevel),
    };
    action.run(
      () => unwrap(api().POST('/api/v1/peers/mail', { body })).then(onAdded),
      null,
      () => setForm(empty),
    );
  };
  const id = (key: string) => `peer-add-mail-${key}`;
  return (
    <form class="stacked" onSubmit={submit} data-testid="peer-add-mail" aria-labelledby="peer-add-mail-title">
      <h3 id="peer-add-mail-title">{t('peerAdmin.byMail')}</h3>
      <label for={id('team')}>{t('peerAdmin.teamId')}</label>
      <input id={id('team')} required value={form.teamId} onInput={field('teamId')} />
      <label for={id('name')}>{t('peerAdmin.name')}</label>
      <input id={id('name')} required value={form.name} onInput={field('name')} />
      <label for={id('email')}>{t('peerAdmin.email')}</label>
      <input id={id('email')} type="email" required value={form.email} onInput={field('email')} />
      <label for={id('key')}>{t('peerAdmin.publicKey')}</label>
      <textarea id={id('key')} required rows={4} value={form.publicKey} onInput={field('publicKey')} />
      <label for={id('fingerprint')}>{t('peerAdmin.expectedFingerprint')}</label>
      <input id={id('fingerprint')} value={form.fingerprint} onInput={field('fingerprint')} />
      <LevelSelects
        idPrefix="peer-add-mail"
        relationship={relationship}
        trustLevel={trustLevel}
        onRelationship={setRelationship}
        onTrustLevel={setTrustLevel}
        withDefault
      />
      <button type="submit" disabled={action.busy}>
        {t('peerAdmin.addMail')}
      </button>
      <ActionResult action={action} />
    </form>
  );
}

/** On a peer's card, for admins: its relationship and trust, suspend or resume, remove (a second click confirms). */
export function PeerAdmin({ peer, onChanged }: { peer: Peer; onChanged: () => void }) {
  const [relationship, setRelationship] = useState<string>(peer.relationship);
  const [trustLevel, setTrustLevel] = useState<string>(peer.trustLevel);
  const [confirming, setConfirming] = useState(false);
  const settings = useAction();
  const state = useAction();
  const path = { teamId: peer.teamId };
  const team = peer.teamId;
  const save = (e: Event) => {
    e.preventDefault();
    // Only what changed: the node audits each field it is sent as a change.
    const body = {
      ...(relationship !== peer.relationship ? { relationship: relationship as Relationship } : {}),
      ...(trustLevel !== peer.trustLevel ? { trustLevel: trustLevel as TrustLevel } : {}),
    };
    if (Object.keys(body).length === 0) return settings.fail(t('peerAdmin.nothingChanged'));
    settings.run(
      () => unwrap(api().PATCH('/api/v1/peers/{teamId}', { params: { path }, body })),
      t('peerAdmin.saved', { team }),
      onChanged,
    );
  };
  const suspended = peer.status === 'suspended';
  const toggle = () =>
    state.run(
      () =>
        suspended
          ? unwrap(api().POST('/api/v1/peers/{teamId}/resume', { params: { path } }))
          : unwrap(api().POST('/api/v1/peers/{teamId}/suspend', { params: { path } })),
      t(suspended ? 'peerAdmin.resumed' : 'peerAdmin.suspended', { team }),
      onChanged,
    );
  const remove = () => state.run(() => unwrap(api().DELETE('/api/v1/peers/{teamId}', { params: { path } })), null, onChanged);
  return (
    <div class="peer-admin" data-testid={`peer-admin-${team}`}>
      <form class="inline" onSubmit={save}>
        <LevelSelects
          idPrefix={`peer-${team}`}
          relationship={relationship}
          trustLevel={trustLevel}
          onRelationship={setRelationship}
          onTrustLevel={setTrustLevel}
          withDefault={false}
        />
        <button type="submit" disabled={settings.busy}>
          {t('peerAdmin.save', { team })}
        </button>
      </form>
      <ActionResult action={settings} />
      <div class="actions">
        <button type="button" disabled={state.busy} onClick={toggle}>
          {t(suspended ? 'peerAdmin.resume' : 'peerAdmin.suspend', { team })}
        </button>{' '}
        <RemoveTwice
          confirming={confirming}
          setConfirming={setConfirming}
          busy={state.busy}
          onRemove={remove}
          remove={t('peerAdmin.remove', { team })}
          reallyRemove={t('peerAdmin.reallyRemove', { team })}
        />
      </div>
      {confirming && <p class="muted">{t('peerAdmin.removeHint')}</p>}
      <ActionResult action={state} testId={`peer-state-${team}`} />
      {state.code === 'conflict' && <p data-testid={`peer-conflict-${team}`}>{t('peerAdmin.conflict', { team })}</p>}
    </div>
  );
}
