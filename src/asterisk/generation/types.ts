/** One SIP account as the generators need it: validated again before anything is written. */
export interface SipAccountRow {
  extension: number;
  name: string;
  sipUsername: string;
  realm: string;
  /** Lowercase hex of MD5("<username>:<realm>:<password>"). */
  md5Digest: string;
  /** Lowercase hex of SHA-256 of the same string. */
  sha256Digest: string;
}

export interface GenerationSettings {
  /** The dialplan context the endpoints land in, e.g. 'synergycall-internal'. */
  context: string;
}

/** What the endpoints file needs besides the context. */
export interface EndpointSettings extends GenerationSettings {
  /** Seconds between OPTIONS to each registered phone (aor qualify_frequency); 0 sends none. */
  qualifySeconds: number;
}

/** What the comment header of a generated file records. */
export interface FileHeaderInfo {
  applyId: string;
  generatedAt: Date;
  /** SHA-256 hex of the body (the file without its header). */
  contentHash: string;
}
