// The job secret (who may join) and the CURVE keys derived from it (who can read the traffic).
import { JouleError } from '../errors';

// node:crypto costs a process about 5 ms to load: a rank that only joins, passes barriers and leaves never does.
const crypto = () => require('node:crypto') as typeof import('node:crypto');

/** The environment variable that carries the job secret; it is never put on a command line or in a file. */
export const SECRET_ENV = 'JOULE_JOB_SECRET';

/** 32 hex characters = 128 bits, the least a job secret may carry. */
export const MIN_SECRET_CHARS = 32;

export function newJobSecret(): string {
  return crypto().randomBytes(32).toString('hex');
}

export function checkJobSecret(secret: string | undefined, where: string): string {
  if (!secret) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${where}: ${SECRET_ENV} is not set; the launcher (or the sbatch template) must put the job secret in the environment`);
  }
  if (secret.length < MIN_SECRET_CHARS || /\s/.test(secret)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${where}: ${SECRET_ENV} must be at least ${MIN_SECRET_CHARS} non-blank characters (128 bits as hex)`);
  }
  return secret;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function secretMatches(expected: string, offered: string): boolean {
  const a = crypto().createHash('sha256').update(expected).digest();
  const b = crypto().createHash('sha256').update(offered).digest();
  return crypto().timingSafeEqual(a, b);
}

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** ZeroMQ's Z85 text form of a key (RFC 32: 4 bytes big-endian -> 5 base-85 digits). */
export function z85Encode(bytes: Buffer): string {
  if (bytes.length % 4 !== 0) throw new Error('z85: length must be a multiple of 4');
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let chunk = '';
    for (let d = 0; d < 5; d++) {
      chunk = Z85[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

// PKCS#8 header of a raw X25519 private key (RFC 8410): lets node's crypto compute the public half.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export interface CurveServerKeys {
  publicKey: string;
  secretKey: string;
}

/**
 * The coordinator's CURVE key pair, derived from the job secret: every process holding the secret can
 * compute the server's public key, so under bare srun no key has to be distributed through a file.
 */
export function curveServerKeys(jobSecret: string): CurveServerKeys {
  const secret = Buffer.from(crypto().hkdfSync('sha256', jobSecret, 'joule', 'joule-coordinator-curve-v1', 32));
  const privateKey = crypto().createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const spki = crypto().createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { secretKey: z85Encode(secret), publicKey: z85Encode(spki.subarray(spki.length - 32)) };
}
