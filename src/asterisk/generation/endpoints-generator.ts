import {
  assertQualifySeconds,
  assertSettings,
  sanitizeCallerIdName,
  validatedRows,
} from './config-escaping';
import { EndpointSettings, SipAccountRow } from './types';

/**
 * The body of generated_endpoints.conf: per user an endpoint, its digest auth and its aor,
 * in exactly the shape verified on Asterisk 22.7.0 (no plaintext password ever reaches disk).
 * Zero rows give an empty body.
 */
export function renderEndpointsBody(
  rows: readonly SipAccountRow[],
  settings: EndpointSettings,
): string {
  assertSettings(settings);
  assertQualifySeconds(settings.qualifySeconds);
  const sections = validatedRows(rows).flatMap((row) => userSections(row, settings));
  return sections.length === 0 ? '' : `${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}

function userSections(
  row: SipAccountRow,
  { context, qualifySeconds }: EndpointSettings,
): string[][] {
  const ext = String(row.extension);
  const name = sanitizeCallerIdName(row.name, row.extension);
  return [
    [
      `[${ext}]`,
      'type=endpoint',
      `context=${context}`,
      'disallow=all',
      'allow=ulaw,alaw',
      `auth=${ext}-auth`,
      `aors=${ext}`,
      `callerid="${name}" <${ext}>`,
      'direct_media=no',
      'rtp_symmetric=yes',
      'force_rport=yes',
      'rewrite_contact=yes',
    ],
    [
      `[${ext}-auth]`,
      'type=auth',
      'auth_type=digest',
      `username=${row.sipUsername}`,
      `realm=${row.realm}`,
      `password_digest=MD5:${row.md5Digest},SHA-256:${row.sha256Digest}`,
    ],
    [
      `[${ext}]`,
      'type=aor',
      'max_contacts=1',
      'remove_existing=yes',
      // Without it a phone that went away shows registered until its registration expires.
      ...(qualifySeconds > 0 ? [`qualify_frequency=${qualifySeconds}`] : []),
    ],
  ];
}
