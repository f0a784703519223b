import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import type { TeamProfileInput } from '../../schemas/profile.schema.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * POST /api/v1/profile/preview: rfc2350.txt and security.txt from a draft, checked like PUT
 * /profile, nothing saved. The console shows it before the admin saves.
 */
const node = await buildTestNode(t);
const { app } = node;

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, what = code) {
  t.equal(res.statusCode, status, `${what}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: code ${code}`);
  return res.json();
}

const preview = (payload: unknown, headers: Record<string, string> = node.auth.admin) =>
  app.inject({ method: 'POST', url: '/api/v1/profile/preview', headers, payload: payload as object });
const current = async (): Promise<Record<string, unknown>> =>
  (await app.inject({ method: 'GET', url: '/api/v1/profile', headers: node.auth.reader })).json();
const served = async () => ({
  rfc2350: (await app.inject({ method: 'GET', url: '/rfc2350.txt' })).body,
  securityTxt: (await app.inject({ method: 'GET', url: '/.well-known/security.txt' })).body,
});

/** The editable part of the live profile: what the console's editor starts from. */
async function editable(): Promise<TeamProfileInput> {
  const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _a, ...input } = await current();
  return input as unknown as TeamProfileInput;
}

const expires = new Date(Date.now() + 100 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

t.test('a draft renders both documents and saves nothing', async (t) => {
  const before = await current();
  const servedBefore = await served();
  const draft: TeamProfileInput = {
    ...(await editable()),
    mission: 'MISSION-DRAFT: a new mission statement.',
    contacts: { email: 'draft@example.org', phone: '+81-3-5555-0100' },
    languages: ['ja', 'en'],
    constituency: { description: 'CONSTITUENCY-DRAFT', networks: ['2001:DB8:10::/48'], asns: [], domains: ['Example.ORG.'], products: [] },
    securityTxt: { expires, policyUrl: 'https://example.org/policy-draft' },
  };
  const res = await preview(draft);
  t.equal(res.statusCode, 200, res.body);
  const { rfc2350, securityTxt } = res.json();
  t.match(rfc2350, /MISSION-DRAFT: a new mission statement\./);
  t.match(rfc2350, /CONSTITUENCY-DRAFT/);
  t.match(rfc2350, /2001:db8:10::\/48/, 'networks in the canonical form saving would store');
  t.match(securityTxt, /^Contact: mailto:draft@example\.org$/m);
  t.match(securityTxt, /^Contact: tel:\+81-3-5555-0100$/m);
  t.match(securityTxt, new RegExp(`^Expires: ${expires}$`, 'm'));
  t.match(securityTxt, /^Preferred-Languages: ja, en$/m);
  t.match(securityTxt, /^Policy: https:\/\/example\.org\/policy-draft$/m);
  t.notMatch(securityTxt, /BEGIN PGP/, 'the preview is the text; the served file is clear-signed');

  t.strictSame(await current(), before, 'the profile is unchanged');
  t.strictSame(await served(), servedBefore, 'the served documents are unchanged');

  // What the preview shows is what saving serves.
  const saved = await app.inject({ method: 'PUT', url: '/api/v1/profile', headers: node.auth.admin, payload: draft });
  t.equal(saved.statusCode, 200, saved.body);
  const after = await served();
  t.match(after.securityTxt, /-----BEGIN PGP SIGNED MESSAGE-----/);
  // Clear-signed text travels with CRLF line ends (RFC 4880 §7.1).
  t.ok(after.securityTxt.replace(/\r\n/g, '\n').includes(securityTxt.trimEnd()), 'the signed security.txt carries the previewed text');
  const strip = (text: string) => text.replace(/^( {3})?\d{4}-\d\d-\d\dT[\d:.]+Z$/m, 'DATE');
  t.equal(strip(after.rfc2350), strip(rfc2350), 'rfc2350.txt as previewed (but its date of last update)');
});

t.test('a field the draft leaves out is absent from the preview, as after saving', async (t) => {
  const { securityTxt: _s, sponsorship: _p, ...rest } = await editable();
  const res = await preview({ ...rest, sponsorship: undefined });
  t.equal(res.statusCode, 200, res.body);
  t.notMatch(res.json().securityTxt, /policy-draft/, 'the saved policy URL does not leak into the draft');
});

t.test('the same checks as saving, and admins only', async (t) => {
  const base = await editable();
  const bad = problem(
    t,
    await preview({ ...base, constituency: { ...base.constituency, networks: ['192.0.2.1/24'] } }),
    400,
    'validation-failed',
    'host bits',
  );
  t.match(bad.errors, [{ pointer: '/constituency/networks/0' }]);
  const past = problem(
    t,
    await preview({ ...base, securityTxt: { expires: '2020-01-01T00:00:00Z' } }),
    400,
    'validation-failed',
    'expired',
  );
  t.match(past.errors, [{ pointer: '/securityTxt/expires' }]);
  problem(t, await preview({ ...base, unknown: 'x' }), 400, 'validation-failed', 'unknown field');
  problem(t, await preview({ ...base, languages: 'ja' }), 400, 'validation-failed', 'wrong type');
  const { name: _n, ...nameless } = base;
  problem(t, await preview(nameless), 400, 'validation-failed', 'a required field missing');
  problem(
    t,
    await app.inject({
      method: 'POST',
      url: '/api/v1/profile/preview',
      headers: { ...node.auth.admin, 'content-type': 'application/json' },
      payload: '{"name":',
    }),
    400,
    'malformed-json',
  );
  problem(t, await preview({ ...base, mission: 'x'.repeat(2_000_000) }), 413, 'body-too-large');
  problem(t, await preview(base, node.auth.handler), 403, 'forbidden', 'a handler');
  problem(t, await preview(base, node.auth.reader), 403, 'forbidden', 'a reader');
  problem(t, await preview(base, {}), 401, 'unauthenticated', 'nobody');
});
