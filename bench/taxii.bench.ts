import type { BenchResult } from './bench-result.js';
import { benchNode, bulkInsert, cpuNote, cpuSecondsSince, keysetScanRate, partnerToken, pullFromOtherThread } from './feed.bench.js';

/**
 * The TAXII 2.1 collection's serving rate (issue 16 part 2): STIX objects per second one partner
 * peer gets through GET /taxii2/api/collections/{id}/objects/, paging with `next` through a node
 * that holds `incidents` incidents (bulk-inserted as for the pull feed bench: a tenth refused,
 * every served one redacted), each decided by the sharing policy (purpose pull-feed), rendered
 * as STIX and every page audited. Over loopback HTTP, the client in a thread of its own
 * (taxii-pull.worker.ts): the node's CPU time beside the figure is then the node's alone.
 */
const COLLECTION = '967bb541-c7cb-4001-aeab-19ff33a1c309';
const TARGET = 20_000;

export async function benchTaxii(opts: {
  engine: 'pglite' | 'postgres';
  incidents: number;
  limit: number;
  disclosureThreads?: number;
}): Promise<BenchResult[]> {
  const node = await benchNode(opts.engine, 'bench', {
    listen: true,
    ...(opts.disclosureThreads !== undefined ? { disclosureThreads: opts.disclosureThreads } : {}),
  });
  const partner = await benchNode('pglite', 'partner', { listen: true, inMemory: true });
  try {
    for (const [method, url, payload] of [
      ['POST', '/api/v1/peers', { url: partner.config.publicUrl }],
      ['PATCH', '/api/v1/peers/partner', { trustLevel: 'partner' }],
      ['POST', '/api/v1/peers/partner/verify', { fingerprint: partner.signer.fingerprint }],
    ] as const) {
      const res = await node.app.inject({ method, url, headers: node.admin, payload });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    }
    const loadStarted = performance.now();
    await bulkInsert(node.database, opts.incidents, 'partner');
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const token = await partnerToken(node, partner.signer);

    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const {
      items: objects,
      marked: incidents,
      pages,
    } = await pullFromOtherThread({
      kind: 'taxii',
      url: `${node.config.publicUrl}/taxii2/api/collections/${COLLECTION}/objects/`,
      token,
      limit: opts.limit,
    });
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpuSecondsSince(cpuBefore);
    // The limit (issue 18): the same incident rows read by keyset pages and JSON-encoded, in
    // objects: the rows per second times the objects the node makes of each incident it reads.
    const scanRate = await keysetScanRate(node.database, 500);
    const objectsPerIncident = objects / opts.incidents;
    return [
      {
        name: `TAXII objects served, N=${opts.incidents} incidents, policy applied${opts.disclosureThreads ? `, ${opts.disclosureThreads} disclosure thread(s) beside the node's` : ''}`,
        engine: opts.engine,
        value: objects / seconds,
        unit: 'objects/s',
        limit: TARGET,
        better: 'higher',
        machineLimit: {
          name: `a keyset scan of the same incidents, JSON-encoded (x ${objectsPerIncident.toFixed(2)} objects per incident)`,
          value: scanRate * objectsPerIncident,
        },
        note: `${objects} STIX objects of ${incidents} incidents (${opts.incidents - incidents} refused), ${pages} pages of <= ${opts.limit} in ${seconds.toFixed(1)} s${cpuNote(objects, cpuSeconds, 'objects', 'the client thread included')}; bulk load ${loadSeconds.toFixed(1)} s`,
      },
    ];
  } finally {
    await partner.close();
    await node.close();
  }
}
