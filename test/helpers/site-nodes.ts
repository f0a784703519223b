import type { TestNode } from './build-test-app.js';
import { api, peerBoth, waitFor } from './federation-harness.js';

/**
 * Set-up shared by the tests of sites that run their own node (issue 19 part 3, ADR 0026): a
 * coordinator's constituency sites, a site node peered with the coordinator, and the look-ups of
 * notifications on both sides.
 */

export type Notification = { id: string; state: string; channel: string; peerTeam: string | null; site: { id: string } } & Record<
  string,
  any
>;

export const poc = (email: string) => ({ name: `POC of ${email}`, channels: [{ kind: 'email', value: email }], languages: ['en'] });

/** Peers the two nodes; the site node takes the coordinator as its coordinator (only a coordinator notifies it) unless told not to. */
export async function peerSiteNode(coordinator: TestNode, siteNode: TestNode, relationship: 'coordinator' | 'peer' = 'coordinator') {
  await peerBoth(coordinator, siteNode);
  const res = await api(siteNode, 'PATCH', `/peers/${coordinator.config.teamId}`, 'admin', { relationship });
  if (res.statusCode !== 200) throw new Error(`PATCH /peers/${coordinator.config.teamId}: ${res.statusCode} ${res.body}`);
}

/** A site of the node's constituency; answers its id. */
export async function addSite(node: TestNode, body: Record<string, unknown>): Promise<string> {
  const res = await api(node, 'POST', '/sites', 'handler', body);
  if (res.statusCode !== 201) throw new Error(`POST /sites: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

export async function notificationOf(node: TestNode, id: string): Promise<Notification> {
  return (await api(node, 'GET', `/notifications/${id}`, 'reader')).json();
}

export async function waitNotificationState(node: TestNode, id: string, state: string, timeoutMs?: number): Promise<Notification> {
  return waitFor(
    `notification ${id} ${state}`,
    async () => {
      const n = await notificationOf(node, id);
      return n.state === state ? n : null;
    },
    timeoutMs,
  );
}

/** What a site node filed as received site notifications. */
export async function receivedAt(siteNode: TestNode): Promise<any[]> {
  return (await api(siteNode, 'GET', '/received-site-notifications', 'reader')).json().items;
}
