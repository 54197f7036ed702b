// Node 18 has no global WebCrypto by default; the NATS client's id generator needs it (bin/vpipe.js does the same).
import { webcrypto } from 'node:crypto';

if (!globalThis.crypto) (globalThis as { crypto?: unknown }).crypto = webcrypto;
