/** Parses `Authorization: <ALGORITHM> Credential=…, SignedHeaders=…, Signature=…`. */

export interface ParsedAuthorization {
  algorithm: string;
  accessKeyId: string;
  /** Scope parts after the access key id: [date, region, service, "aws4_request"] (SigV4) or [date, service, "aws4_request"] (SigV4a). */
  scope: string[];
  signedHeaders: string[];
  signature: string;
}

/** Returns undefined when the header is not a well-formed AWS signature header. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space <= 0) return undefined;
  const algorithm = header.slice(0, space);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) return undefined;
  const [accessKeyId, ...scope] = credential.split('/');
  if (!accessKeyId || scope.length < 3 || scope.at(-1) !== 'aws4_request') return undefined;
  return { algorithm, accessKeyId, scope, signedHeaders: signedHeaders.split(';'), signature };
}
