import { EntityManager } from 'typeorm';
import { SipAccountRow } from '../asterisk/generation/types';
import { DEFAULT_TENANT_ID } from '../tenants/tenant.entity';

/** Everything the generators need, in one query, sorted by extension. */
export async function loadSipAccounts(m: EntityManager): Promise<SipAccountRow[]> {
  const rows: {
    extension: number;
    name: string;
    sip_username: string;
    realm: string;
    md5_digest: string;
    sha256_digest: string;
  }[] = await m.query(
    `SELECT e.number AS extension, u.name, e.sip_username, e.realm, e.md5_digest, e.sha256_digest
     FROM extension e JOIN "user" u ON u.id = e.user_id
     WHERE e.tenant_id = $1
     ORDER BY e.number`,
    [DEFAULT_TENANT_ID],
  );
  return rows.map((r) => ({
    extension: r.extension,
    name: r.name,
    sipUsername: r.sip_username,
    realm: r.realm,
    md5Digest: r.md5_digest,
    sha256Digest: r.sha256_digest,
  }));
}
