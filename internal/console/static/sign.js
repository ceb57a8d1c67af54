// Signature v3 (ACS3-HMAC-SHA256) for moat's RPC API, computed with Web
// Crypto (SHA-256 and HMAC-SHA256), so the same module runs in the browser
// and in Node.js (globalThis.crypto.subtle), where a test checks it against
// the golden vector of internal/acs. docs/CONSOLE.md describes the request.

const enc = new TextEncoder();

// percentEncode keeps A-Z a-z 0-9 - _ . ~ and writes every other UTF-8
// byte as %XX with upper-case hex digits (the SDKs' encoding).
export function percentEncode(s) {
  return encodeURIComponent(String(s)).replace(/[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

// sha256Hex is the lower-case hex SHA-256 of a string or bytes.
export async function sha256Hex(data) {
  const bytes = typeof data === 'string' ? enc.encode(data) : data;
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

// hmacHex is the lower-case hex HMAC-SHA256 of msg under key.
export async function hmacHex(key, msg) {
  const k = await crypto.subtle.importKey('raw', enc.encode(key),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return hex(await crypto.subtle.sign('HMAC', k, enc.encode(msg)));
}

// canonicalQuery sorts the parameter names and writes name=encoded value
// pairs joined by '&' (names are not encoded: they are letters, digits
// and dots).
export function canonicalQuery(query) {
  return Object.keys(query).sort()
    .map((k) => k + '=' + percentEncode(query[k])).join('&');
}

// canonicalRequest is method, path, canonical query, one "name:value"
// line per signed header (sorted), a blank line, the signed names joined
// by ';', and the payload hash.
export function canonicalRequest(method, path, query, headers, signed, hashedPayload) {
  const lines = signed.map((h) => h + ':' + String(headers[h]).trim() + '\n').join('');
  return [method, path, canonicalQuery(query), lines, signed.join(';'), hashedPayload].join('\n');
}

// signV3 returns the Authorization header for a request: headers maps
// lower-case names to values and must hold host and the x-acs-* headers;
// every x-acs-* header, host and content-type are signed.
export async function signV3({ method, path = '/', query, headers, hashedPayload, accessKeyId, secret }) {
  const signed = Object.keys(headers)
    .filter((h) => h === 'host' || h === 'content-type' || h.startsWith('x-acs-'))
    .sort();
  const cr = canonicalRequest(method, path, query, headers, signed, hashedPayload);
  const stringToSign = 'ACS3-HMAC-SHA256\n' + await sha256Hex(cr);
  const signature = await hmacHex(secret, stringToSign);
  return `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${signed.join(';')},Signature=${signature}`;
}

// nonce is a random UUID (single use per AccessKey on the server).
export function nonce() {
  return crypto.randomUUID();
}

// isoSeconds is t as YYYY-MM-DDTHH:MM:SSZ, the form x-acs-date takes.
export function isoSeconds(t) {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// signedRequest builds what fetch needs for one RPC call: every parameter
// in the query of POST /, an empty body, and the signed headers (host is
// signed but sent by the browser itself). creds is {accessKeyId, secret,
// securityToken?}.
export async function signedRequest({ host, action, version, params, creds, now = Date.now() }) {
  const hashedPayload = await sha256Hex('');
  const headers = {
    host,
    'x-acs-action': action,
    'x-acs-version': version,
    'x-acs-date': isoSeconds(now),
    'x-acs-signature-nonce': nonce(),
    'x-acs-content-sha256': hashedPayload,
  };
  if (creds.securityToken) {
    headers['x-acs-security-token'] = creds.securityToken;
  }
  const authorization = await signV3({
    method: 'POST', query: params, headers, hashedPayload,
    accessKeyId: creds.accessKeyId, secret: creds.secret,
  });
  const send = { ...headers, authorization };
  delete send.host;
  return { url: '/?' + canonicalQuery(params), headers: send };
}
