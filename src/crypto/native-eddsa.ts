import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

/**
 * The hot path of the federation: every message received is verified and answered with a signed
 * receipt. openpgp.js does both in JavaScript big-number arithmetic, about five times slower than
 * node:crypto's Ed25519 (OpenSSL). Hikeshi keys are v4 legacy EdDSA over Ed25519 (RFC 4880bis
 * "EdDSALegacy", algorithm 22), whose signatures are plain Ed25519 signatures over the OpenPGP
 * signature digest. This module makes and checks exactly that shape with node:crypto, byte for
 * byte what RFC 4880 §5.2.3/§5.2.4 and RFC 9580 §5.2.4 prescribe, so GnuPG and openpgp.js verify
 * what it signs (tests check both ways, and feed it tampered input).
 *
 * It is deliberately narrow. Anything it does not recognise (another algorithm, a v3 or v6
 * packet, a subpacket it does not understand, a critical notation, a subkey signature) is
 * answered `unsupported`, and the caller falls back to openpgp.js, which handles the general
 * case. It never says "valid" for something openpgp.js would reject.
 *
 * ADR 0008 records why.
 */

/** OpenPGP algorithm and packet constants (RFC 9580 §9). */
const EDDSA_LEGACY = 22;
const HASH_SHA256 = 8;
const HASH_SHA512 = 10;
const SIGNATURE_TAG = 2;
const SIG_BINARY = 0x00;
const SIG_TEXT = 0x01;
const SUB_CREATED = 2;
const SUB_EXPIRES = 3;
const SUB_ISSUER_KEY_ID = 16;
const SUB_NOTATION = 20;
const SUB_ISSUER_FINGERPRINT = 33;
/** Ed25519 as a legacy curve OID: 1.3.6.1.4.1.11591.15.1. */
const ED25519_OID = Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01]);

/** A key the fast path can use: the raw Ed25519 point of a v4 EdDSALegacy primary key. */
export interface NativeEd25519Key {
  /** 40 upper-case hex characters. */
  fingerprint: string;
  /** The last 8 bytes of the fingerprint (the v4 key ID). */
  keyId: Buffer;
  fingerprintBytes: Buffer;
  /** Key creation time (seconds since the epoch): no signature may predate its key. */
  createdSeconds: number;
  /** Key expiry (seconds since the epoch), or null. */
  expiresSeconds: number | null;
  publicKey: KeyObject;
}

export interface NativeEd25519Signer extends NativeEd25519Key {
  privateKey: KeyObject;
}

/** What openpgp.js tells about a key packet; read by signer.ts and peer-key.ts, never stored. */
export interface EddsaKeyMaterial {
  algorithm: number;
  oid: Uint8Array | null;
  /** 0x40 || 32-byte point. */
  q: Uint8Array | null;
  fingerprintHex: string;
  createdAt: Date;
  expiresAt: Date | null;
}

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** The fast-path key, or null when the key is not a v4 Ed25519 EdDSALegacy key. */
export function nativeKeyFrom(material: EddsaKeyMaterial): NativeEd25519Key | null {
  if (material.algorithm !== EDDSA_LEGACY || !material.oid || !material.q) return null;
  if (!ED25519_OID.equals(Buffer.from(material.oid))) return null;
  if (material.q.length !== 33 || material.q[0] !== 0x40) return null;
  const fingerprintBytes = Buffer.from(material.fingerprintHex, 'hex');
  if (fingerprintBytes.length !== 20) return null;
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: b64url(material.q.subarray(1)) },
    format: 'jwk',
  });
  return {
    fingerprint: material.fingerprintHex.toUpperCase(),
    fingerprintBytes,
    keyId: fingerprintBytes.subarray(12),
    createdSeconds: Math.floor(material.createdAt.getTime() / 1000),
    expiresSeconds: material.expiresAt ? Math.floor(material.expiresAt.getTime() / 1000) : null,
    publicKey,
  };
}

/** The fast-path signer, or null: needs the 32-byte seed of an unlocked EdDSALegacy key. */
export function nativeSignerFrom(material: EddsaKeyMaterial, seed: Uint8Array | null): NativeEd25519Signer | null {
  const key = nativeKeyFrom(material);
  if (!key || !seed || seed.length !== 32) return null;
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(material.q!.subarray(1)) },
    format: 'jwk',
  });
  // A seed that does not belong to the public point would sign garbage; check once.
  const probe = Buffer.from('hikeshi native signer self-test');
  if (!edVerify(null, probe, key.publicKey, edSign(null, probe, privateKey))) return null;
  return { ...key, privateKey };
}

// ---------------------------------------------------------------------------------------------
// Armor (RFC 9580 §6)

const CRC24_INIT = 0xb704ce;
const CRC24_POLY = 0x1864cfb;

function crc24(bytes: Uint8Array): number {
  let crc = CRC24_INIT;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= CRC24_POLY;
    }
  }
  return crc & 0xffffff;
}

function armorSignature(packet: Buffer): string {
  const body = packet.toString('base64').replace(/.{1,64}/g, '$&\n');
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(packet), 0, 3);
  return `-----BEGIN PGP SIGNATURE-----\n\n${body}=${crc.toString('base64')}\n-----END PGP SIGNATURE-----\n`;
}

const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;

/**
 * The packet bytes inside one armored signature block, or null when the armor is anything but
 * the plain form (the caller then falls back to openpgp.js, which reads every legal variant).
 * A checksum line, when present, must match.
 */
function dearmor(text: string): Buffer | null {
  const lines = text.trim().split(/\r?\n/);
  if (lines[0] !== '-----BEGIN PGP SIGNATURE-----' || lines.at(-1) !== '-----END PGP SIGNATURE-----') return null;
  let i = 1;
  // Armor headers (Version:, Comment:) end at the first empty line.
  while (i < lines.length - 1 && lines[i]!.trim() !== '') {
    if (!/^[A-Za-z][A-Za-z0-9-]*: /.test(lines[i]!)) return null;
    i++;
  }
  if (i >= lines.length - 1) return null;
  i++;
  let body = '';
  let checksum: string | null = null;
  for (; i < lines.length - 1; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith('=') && line.length === 5) {
      checksum = line.slice(1);
      if (i !== lines.length - 2) return null;
      break;
    }
    if (!BASE64_LINE.test(line)) return null;
    body += line;
  }
  if (body.length === 0 || body.length % 4 !== 0) return null;
  const bytes = Buffer.from(body, 'base64');
  if (checksum !== null) {
    const crc = Buffer.from(checksum, 'base64');
    if (crc.length !== 3 || crc.readUIntBE(0, 3) !== crc24(bytes)) return null;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The signature packet (RFC 9580 §5.2.3, v4)

export interface ParsedSignature {
  signatureType: number;
  hashAlgorithm: number;
  /** version .. end of hashed subpackets: what the digest covers after the data. */
  hashedPart: Buffer;
  createdSeconds: number;
  /** Seconds after creation at which the signature expires, or null. */
  expiresAfter: number | null;
  issuerKeyId: Buffer | null;
  issuerFingerprint: Buffer | null;
  left16: Buffer;
  /** r || s, 64 bytes. */
  signature: Buffer;
}

function readPacket(bytes: Buffer): { tag: number; body: Buffer } | null {
  if (bytes.length < 2 || (bytes[0]! & 0x80) === 0) return null;
  const first = bytes[0]!;
  let tag: number;
  let length: number;
  let offset: number;
  if (first & 0x40) {
    // New format: one-, two- or five-octet lengths; partial lengths are not used for signatures.
    tag = first & 0x3f;
    const l0 = bytes[1]!;
    if (l0 < 192) {
      length = l0;
      offset = 2;
    } else if (l0 < 224) {
      if (bytes.length < 3) return null;
      length = ((l0 - 192) << 8) + bytes[2]! + 192;
      offset = 3;
    } else if (l0 === 255) {
      if (bytes.length < 6) return null;
      length = bytes.readUInt32BE(2);
      offset = 6;
    } else {
      return null;
    }
  } else {
    tag = (first >> 2) & 0x0f;
    const lengthType = first & 0x03;
    if (lengthType === 0) {
      length = bytes[1]!;
      offset = 2;
    } else if (lengthType === 1) {
      if (bytes.length < 3) return null;
      length = bytes.readUInt16BE(1);
      offset = 3;
    } else if (lengthType === 2) {
      if (bytes.length < 5) return null;
      length = bytes.readUInt32BE(1);
      offset = 5;
    } else {
      return null;
    }
  }
  // Exactly one packet: anything after it makes "what was signed by whom" ambiguous.
  if (offset + length !== bytes.length) return null;
  return { tag, body: bytes.subarray(offset) };
}

interface Subpackets {
  created: number | null;
  expiresAfter: number | null;
  issuerKeyId: Buffer | null;
  issuerFingerprint: Buffer | null;
}

/** Reads a subpacket area; null when it holds anything the fast path does not handle. */
function readSubpackets(area: Buffer, hashed: boolean, into: Subpackets): boolean {
  let i = 0;
  while (i < area.length) {
    const l0 = area[i]!;
    let length: number;
    if (l0 < 192) {
      length = l0;
      i += 1;
    } else if (l0 < 255) {
      if (i + 1 >= area.length) return false;
      length = ((l0 - 192) << 8) + area[i + 1]! + 192;
      i += 2;
    } else {
      if (i + 4 >= area.length) return false;
      length = area.readUInt32BE(i + 1);
      i += 5;
    }
    if (length < 1 || i + length > area.length) return false;
    const type = area[i]! & 0x7f;
    const critical = (area[i]! & 0x80) !== 0;
    const data = area.subarray(i + 1, i + length);
    i += length;
    switch (type) {
      case SUB_CREATED:
        // Only the hashed creation time counts; a second one is ambiguous.
        if (!hashed || data.length !== 4 || into.created !== null) return false;
        into.created = data.readUInt32BE(0);
        break;
      case SUB_EXPIRES:
        if (!hashed || data.length !== 4 || into.expiresAfter !== null) return false;
        into.expiresAfter = data.readUInt32BE(0);
        break;
      case SUB_ISSUER_KEY_ID:
        if (data.length !== 8) return false;
        into.issuerKeyId ??= Buffer.from(data);
        break;
      case SUB_ISSUER_FINGERPRINT:
        if (data.length !== 21 || data[0] !== 4) return false;
        into.issuerFingerprint ??= Buffer.from(data.subarray(1));
        break;
      case SUB_NOTATION:
        // openpgp.js adds a random salt notation; a critical notation must be understood, so the
        // general path decides.
        if (critical) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The fields of one v4 EdDSALegacy signature packet, or null when it is anything else. */
export function parseEddsaSignature(armored: string): ParsedSignature | null {
  const bytes = dearmor(armored);
  if (!bytes) return null;
  const packet = readPacket(bytes);
  if (!packet || packet.tag !== SIGNATURE_TAG) return null;
  const body = packet.body;
  if (body.length < 6 || body[0] !== 4) return null;
  const signatureType = body[1]!;
  if (signatureType !== SIG_BINARY && signatureType !== SIG_TEXT) return null;
  if (body[2] !== EDDSA_LEGACY) return null;
  const hashAlgorithm = body[3]!;
  if (hashAlgorithm !== HASH_SHA256 && hashAlgorithm !== HASH_SHA512) return null;
  const hashedLength = body.readUInt16BE(4);
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd + 2 > body.length) return null;
  const unhashedLength = body.readUInt16BE(hashedEnd);
  const unhashedEnd = hashedEnd + 2 + unhashedLength;
  if (unhashedEnd + 2 > body.length) return null;
  const subpackets: Subpackets = { created: null, expiresAfter: null, issuerKeyId: null, issuerFingerprint: null };
  if (!readSubpackets(body.subarray(6, hashedEnd), true, subpackets)) return null;
  if (!readSubpackets(body.subarray(hashedEnd + 2, unhashedEnd), false, subpackets)) return null;
  if (subpackets.created === null) return null;
  const left16 = body.subarray(unhashedEnd, unhashedEnd + 2);
  // Two MPIs, r and s, each at most 256 bits; MPIs drop leading zero octets, so pad back.
  let offset = unhashedEnd + 2;
  const parts: Buffer[] = [];
  for (let n = 0; n < 2; n++) {
    if (offset + 2 > body.length) return null;
    const bits = body.readUInt16BE(offset);
    const length = (bits + 7) >> 3;
    if (bits > 256 || offset + 2 + length > body.length) return null;
    const value = body.subarray(offset + 2, offset + 2 + length);
    // An MPI's bit count must match its top octet; openpgp.js and GnuPG both insist.
    if (length > 0 && 8 * (length - 1) + (32 - Math.clz32(value[0]!)) !== bits) return null;
    parts.push(Buffer.concat([Buffer.alloc(32 - length), value]));
    offset += 2 + length;
  }
  if (offset !== body.length) return null;
  return {
    signatureType,
    hashAlgorithm,
    hashedPart: body.subarray(0, hashedEnd),
    createdSeconds: subpackets.created,
    expiresAfter: subpackets.expiresAfter === 0 ? null : subpackets.expiresAfter,
    issuerKeyId: subpackets.issuerKeyId,
    issuerFingerprint: subpackets.issuerFingerprint,
    left16: Buffer.from(left16),
    signature: Buffer.concat(parts),
  };
}

/** RFC 9580 §5.2.4: the digest over the data, the hashed part and the v4 trailer. */
function signatureDigest(hashAlgorithm: number, data: Uint8Array, hashedPart: Buffer): Buffer {
  const trailer = Buffer.alloc(6);
  trailer[0] = 4;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(hashedPart.length, 2);
  return createHash(hashAlgorithm === HASH_SHA512 ? 'sha512' : 'sha256')
    .update(data)
    .update(hashedPart)
    .update(trailer)
    .digest();
}

export type NativeVerdict = 'valid' | 'invalid' | 'unsupported';

/**
 * Checks a parsed signature over `data` (binary mode only) against the key. `nowSeconds` plus
 * the skew is the latest acceptable creation time, as in openpgp.js's `date` option.
 */
export function verifyEddsaSignature(
  parsed: ParsedSignature,
  data: Uint8Array,
  key: NativeEd25519Key,
  latestCreatedSeconds: number,
): NativeVerdict {
  // Text-mode signatures canonicalise line endings first; leave that to openpgp.js.
  if (parsed.signatureType !== SIG_BINARY) return 'unsupported';
  if (parsed.issuerFingerprint && !parsed.issuerFingerprint.equals(key.fingerprintBytes)) return 'unsupported';
  if (parsed.issuerKeyId && !parsed.issuerKeyId.equals(key.keyId)) return 'unsupported';
  if (!parsed.issuerFingerprint && !parsed.issuerKeyId) return 'unsupported';
  // Time rules (future signature, signature older than its key, expiries) are openpgp.js's to
  // apply: the fast path only takes the plain case, so both paths always agree.
  if (parsed.createdSeconds > latestCreatedSeconds || parsed.createdSeconds < key.createdSeconds) return 'unsupported';
  if (parsed.expiresAfter !== null) return 'unsupported';
  if (key.expiresSeconds !== null && latestCreatedSeconds >= key.expiresSeconds) return 'unsupported';
  const digest = signatureDigest(parsed.hashAlgorithm, data, parsed.hashedPart);
  if (digest[0] !== parsed.left16[0] || digest[1] !== parsed.left16[1]) return 'invalid';
  return edVerify(null, digest, key.publicKey, parsed.signature) ? 'valid' : 'invalid';
}

function subpacket(type: number, data: Buffer, critical = false): Buffer {
  // Every subpacket here is shorter than 192 octets: one-octet length.
  return Buffer.concat([Buffer.from([data.length + 1, type | (critical ? 0x80 : 0)]), data]);
}

/**
 * An armored detached binary-mode signature over `data`: SHA-512, hashed creation time and issuer
 * fingerprint, unhashed issuer key ID, the set GnuPG 2.2 itself writes.
 */
export function signEddsa(data: Uint8Array, signer: NativeEd25519Signer, now: Date): string {
  const created = Buffer.alloc(4);
  created.writeUInt32BE(Math.floor(now.getTime() / 1000));
  const hashed = Buffer.concat([
    subpacket(SUB_CREATED, created, true),
    subpacket(SUB_ISSUER_FINGERPRINT, Buffer.concat([Buffer.from([4]), signer.fingerprintBytes])),
  ]);
  const unhashed = subpacket(SUB_ISSUER_KEY_ID, signer.keyId);
  const head = Buffer.from([4, SIG_BINARY, EDDSA_LEGACY, HASH_SHA512, hashed.length >> 8, hashed.length & 0xff]);
  const hashedPart = Buffer.concat([head, hashed]);
  const digest = signatureDigest(HASH_SHA512, data, hashedPart);
  const rs = edSign(null, digest, signer.privateKey);
  const mpi = (value: Buffer): Buffer => {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const trimmed = value.subarray(start);
    const bits = trimmed[0] === 0 ? 0 : 8 * (trimmed.length - 1) + (32 - Math.clz32(trimmed[0]!));
    return Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), bits === 0 ? Buffer.alloc(0) : trimmed]);
  };
  const body = Buffer.concat([
    hashedPart,
    Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]),
    unhashed,
    digest.subarray(0, 2),
    mpi(rs.subarray(0, 32)),
    mpi(rs.subarray(32)),
  ]);
  // New-format packet header (tag 2), two-octet length when needed.
  const header =
    body.length < 192
      ? Buffer.from([0xc0 | SIGNATURE_TAG, body.length])
      : Buffer.from([0xc0 | SIGNATURE_TAG, ((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff]);
  return armorSignature(Buffer.concat([header, body]));
}
