#!/usr/bin/env node
// vpipe command-line entry: runs the TypeScript sources through tsx.
import { webcrypto } from 'node:crypto';
import { register } from 'tsx/esm/api';

// Node 18 has no global WebCrypto by default; the NATS client's id generator needs it.
if (!globalThis.crypto) globalThis.crypto = webcrypto;
register();
await import('../cli/main.ts');
