import { assertSettings, validatedRows } from './config-escaping';
import { GenerationSettings, SipAccountRow } from './types';

/**
 * The body of generated_routing.conf: one context where every extension dials its own
 * endpoint and nothing else, so a phone in this context has no way out of the PBX. Zero rows
 * give an empty body (the context then does not exist, which is what Asterisk reports).
 */
export function renderRoutingBody(
  rows: readonly SipAccountRow[],
  settings: GenerationSettings,
): string {
  assertSettings(settings);
  const sorted = validatedRows(rows);
  if (sorted.length === 0) return '';
  const lines = [`[${settings.context}]`];
  for (const { extension } of sorted) {
    lines.push(`exten => ${extension},1,Dial(PJSIP/${extension},30)`, ' same => n,Hangup()');
  }
  return `${lines.join('\n')}\n`;
}
