// An operator page's key, and what it signs (docs/dashboard.md, "Signed actions"). The nodes
// take an operator's help offer or answer only signed by an operator key they pin in their own
// configuration, over the same canonical bytes a node signs (docs/security.md, "What is
// signed"). The signing is WebCrypto's Ed25519: no cryptography of the page's own. The key is
// kept as a non-extractable CryptoKey, in this page's memory only.

import { canonical } from "./ifmessage.js";

// The 12 bytes of DER before the 32 key bytes of every Ed25519 SubjectPublicKeyInfo (RFC 8410).
const SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
const UNSIGNED_FIELDS = new Set(["signature", "hops"]); // a relay may lower hops
const ED25519 = { name: "Ed25519" };

export class KeyProblem extends Error {}

// Why this page cannot sign here, or null. WebCrypto exists only in a secure context: https,
// or http on 127.0.0.1 / localhost; a LAN address over plain http is not one.
export function signingUnavailable() {
  if (!globalThis.isSecureContext) {
    return (
      `this page is not a secure context (${location.origin}): browsers offer WebCrypto, which` +
      " signs, only over https or on http://127.0.0.1 / localhost. Open the page as" +
      " http://127.0.0.1:PORT/dashboard/ (from another machine through `ssh -L PORT:127.0.0.1:PORT" +
      " HOST`), or serve it over https"
    );
  }
  if (!globalThis.crypto?.subtle) return "this browser has no WebCrypto (crypto.subtle)";
  return null;
}

// Every field the message carries but `signature` and `hops`, sorted: the v2.1 signed_fields.
export function signedFields(message) {
  return Object.keys(message)
    .filter((name) => !UNSIGNED_FIELDS.has(name) && message[name] !== undefined && message[name] !== null)
    .sort();
}

// What the signature covers: the canonical encoding of the object of just those fields.
export function signingBytes(message, fields) {
  const signed = {};
  for (const name of fields) if (!UNSIGNED_FIELDS.has(name) && name in message) signed[name] = message[name];
  return new TextEncoder().encode(canonical(signed));
}

export class OperatorKey {
  constructor(privateKey, raw, short) {
    this.privateKey = privateKey; // CryptoKey, not extractable
    this.publicKey = base64(new Uint8Array([...SPKI_PREFIX, ...raw])); // as operator_keys holds it
    this.short = short; // as `ifmesh status` names keys: SHA-256 of the key, 12 hex digits
  }

  // A key from the text of a key file (PKCS#8 PEM, as `ifmesh keys operator-key` writes it) or
  // from the link's `opkey` (base64url of the same DER).
  static async fromText(text) {
    const why = signingUnavailable();
    if (why) throw new KeyProblem(`cannot sign: ${why}`);
    text = text.trim();
    if (text.includes("ENCRYPTED PRIVATE KEY")) {
      throw new KeyProblem("the key file is encrypted; the page reads unencrypted PKCS#8 only");
    }
    const pem = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
    if (!pem && text.includes("-----BEGIN")) {
      throw new KeyProblem("not a PKCS#8 private key file (-----BEGIN PRIVATE KEY-----)");
    }
    let der;
    try {
      der = fromBase64(pem ? pem[1].replace(/\s+/g, "") : text.replace(/-/g, "+").replace(/_/g, "/"));
    } catch {
      throw new KeyProblem("the operator key is neither a PEM file nor base64");
    }
    return OperatorKey.fromPkcs8(der);
  }

  static async fromPkcs8(der) {
    let jwk;
    try {
      // Imported once to read its public half (WebCrypto derives no public key from a private
      // one otherwise), then again, not extractable, for signing.
      const readable = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
      jwk = await crypto.subtle.exportKey("jwk", readable);
    } catch (error) {
      if (error.name === "NotSupportedError") {
        throw new KeyProblem(
          "this browser's WebCrypto has no Ed25519 (Chromium 137, Firefox 129, Safari 17 and" +
            " later have it)",
        );
      }
      throw new KeyProblem(`not an Ed25519 private key (${error.name})`);
    }
    const privateKey = await crypto.subtle.importKey("jwk", jwk, ED25519, false, ["sign"]);
    const raw = fromBase64(jwk.x.replace(/-/g, "+").replace(/_/g, "/"));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
    return new OperatorKey(privateKey, raw, hex(digest).slice(0, 12));
  }

  // `message` with its v2.1 signature object, in the origin's shape, as a node's seal makes it.
  async sign(message) {
    const { signature: _, ...unsigned } = message;
    const fields = signedFields(unsigned);
    const bytes = signingBytes(unsigned, fields);
    const signature = new Uint8Array(await crypto.subtle.sign(ED25519, this.privateKey, bytes));
    return {
      ...unsigned,
      signature: { algorithm: "ed25519", public_key: this.publicKey, signature_bytes: hex(signature),
                   signed_fields: fields }, // prettier-ignore
    };
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text) {
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
