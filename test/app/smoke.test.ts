import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { readFileSync } from 'node:fs';

t.test('smoke', async (t) => {
  const node = await buildTestNode(t);
  const example = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8'));
  const res = await node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: node.auth.handler, payload: example });
  t.equal(res.statusCode, 201, res.body);
  const got = await node.app.inject({ method: 'GET', url: `/api/v1/incidents/${encodeURIComponent(res.json().ref)}`, headers: node.auth.reader });
  t.equal(got.statusCode, 200, got.body);
  t.equal(got.json().ref, 'ALPHA#' + new Date().getUTCFullYear() + '-000001');
  const bad = await node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: { ...node.auth.handler, 'content-type': 'application/json' }, payload: '{bad' });
  t.equal(bad.statusCode, 400, bad.body);
  t.equal(bad.json().code, 'malformed-json');
});
