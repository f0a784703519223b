import t from 'tap';
import { BUILT_IN_COUNTER_MEASURES, fillAdvice, pickCounterMeasure } from '../../src/modules/notifications/counter-measures.js';
import { lookupKeyOf, renderNotificationText } from '../../src/modules/notifications/notification-content.js';
import type { CounterMeasure, NotificationContent } from '../../schemas/notification.schema.js';

/** The pure parts of site notifications (ADR 0026): what is looked up, which advice is picked, how it reads. */

t.test('lookupKeyOf: the part of an indicator the directory is asked about', async (t) => {
  t.same(lookupKeyOf('ipv4', ' 192.0.2.1 '), { address: '192.0.2.1' });
  t.same(lookupKeyOf('ipv6', '2001:db8::1'), { address: '2001:db8::1' });
  t.same(lookupKeyOf('url', 'https://WWW.Example.org:8443/x?y'), { domain: 'www.example.org' });
  t.same(lookupKeyOf('url', 'http://192.0.2.7/c2'), { address: '192.0.2.7' });
  t.same(lookupKeyOf('url', 'http://[2001:db8::7]:80/'), { address: '2001:db8::7' });
  t.equal(lookupKeyOf('url', 'not a url'), null);
  t.same(lookupKeyOf('email', 'Admin@Mail.Example.org'), { domain: 'Mail.Example.org' });
  t.equal(lookupKeyOf('email', 'nobody'), null);
  t.same(lookupKeyOf('asn', 'AS64500'), { asn: 64500 });
  t.same(lookupKeyOf('asn', '64501'), { asn: 64501 });
  t.equal(lookupKeyOf('asn', 'AS99999999999'), null, 'beyond 32 bits');
  t.equal(lookupKeyOf('sha256', 'a'.repeat(64)), null, 'hashes are not looked up');
  t.equal(lookupKeyOf('other', 'anything'), null);
});

t.test('pickCounterMeasure: by type, then by category, then generic; the team first', async (t) => {
  const builtIn = BUILT_IN_COUNTER_MEASURES.map((c) => ({ ...c, source: 'built-in' as const }));
  t.equal(pickCounterMeasure(builtIn, 'intrusions', 'system-compromise').id, 'system-compromise');
  t.equal(pickCounterMeasure(builtIn, 'vulnerable', 'ddos-amplifier').id, 'ddos-amplifier');
  t.equal(pickCounterMeasure(builtIn, 'availability', 'ddos').id, 'generic', 'no template for the type or category');
  t.equal(pickCounterMeasure(builtIn, 'other', null).id, 'generic');
  const team: CounterMeasure = { id: 'our-ddos', title: 'Ours', category: 'availability', types: [], texts: { en: 'x' }, source: 'team' };
  t.equal(pickCounterMeasure([team, ...builtIn], 'availability', 'ddos').id, 'our-ddos', "the team's category template");
  for (const c of BUILT_IN_COUNTER_MEASURES) t.ok(c.texts.en && c.texts.ja, `${c.id}: Japanese and English`);
});

t.test('fillAdvice and the rendered text', async (t) => {
  const values = { ref: 'ALPHA#2026-000001', site: 'Site A', team: 'Team alpha', hosts: '  - 192.0.2.1 (target)' };
  t.equal(
    fillAdvice({ texts: { en: '{{site}}: {{ref}} {{team}}\n{{hosts}} {{unknown}}' } }, 'ja', values),
    'Site A: ALPHA#2026-000001 Team alpha\n  - 192.0.2.1 (target) {{unknown}}',
    'English when there is no Japanese; unknown placeholders stay',
  );
  const content: NotificationContent = {
    ref: 'ALPHA#2026-000001',
    category: 'vulnerable',
    type: 'ddos-amplifier',
    severity: 'medium',
    tlp: 'GREEN',
    firstSeen: null,
    lastSeen: null,
    hosts: [{ ip: '192.0.2.53', role: 'intermediary', ports: [53], protocol: 'udp', spoofedSource: true, description: 'open\nresolver' }],
    indicators: [{ kind: 'domain', value: 'evil.example' }],
    cves: [],
    callBack: { teamId: 'alpha', teamName: 'Team alpha', email: 'csirt@alpha.test' },
  };
  const en = renderNotificationText(content, 'ADVICE', 'en', 'Site A');
  t.match(en, /Our reference number: ALPHA#2026-000001/);
  t.match(en, /192\.0\.2\.53 \[intermediary\] ports 53 udp \(source may be spoofed\)\n {6}open resolver/);
  t.match(en, /domain: evil\.example/);
  t.match(en, /Vulnerabilities: -/);
  t.match(en, /Contact: Team alpha \(alpha\) <csirt@alpha\.test>/);
  const ja = renderNotificationText(content, '助言', 'ja', 'サイトA');
  t.match(ja, /参照番号: ALPHA#2026-000001/);
  t.match(ja, /推奨する対策:\n助言/);
});
