/**
 * One error base for the whole project: a stable `code`, a `retryable` flag
 * that retry policy reads, and a chained `cause`. Every boundary maps it:
 * API → error reply, work queue → nak with delay or term, job → failed event.
 */
import type { ErrorBody, ErrorDetail } from '../../schemas/api.js';

export const ErrorCodes = {
  BadRequest: 'BAD_REQUEST',
  SchemaInvalid: 'SCHEMA_INVALID',
  Undecodable: 'UNDECODABLE_PAYLOAD',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  MediaForbidden: 'MEDIA_URI_FORBIDDEN',
  MediaNotFound: 'MEDIA_NOT_FOUND',
  JobNotFound: 'JOB_NOT_FOUND',
  ToolFailed: 'TOOL_FAILED',
  ToolTimeout: 'TOOL_TIMEOUT',
  ToolStalled: 'TOOL_STALLED',
  ToolMissing: 'TOOL_MISSING',
  Cancelled: 'CANCELLED',
  ValidationFailed: 'VALIDATION_FAILED',
  /** The pictures or frame times of an output (or of what a chunk took from its source) are not the source's. */
  ContentMismatch: 'CONTENT_MISMATCH',
  DeadLetter: 'DEAD_LETTER',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The numeric `Nats-Service-Error-Code` each code is answered with (HTTP-like, as the micro protocol suggests). */
const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  SCHEMA_INVALID: 400,
  UNDECODABLE_PAYLOAD: 400,
  PAYLOAD_TOO_LARGE: 413,
  MEDIA_URI_FORBIDDEN: 403,
  MEDIA_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  TOOL_FAILED: 500,
  TOOL_TIMEOUT: 504,
  TOOL_STALLED: 504,
  TOOL_MISSING: 501,
  CANCELLED: 499,
  VALIDATION_FAILED: 422,
  CONTENT_MISMATCH: 422,
  DEAD_LETTER: 500,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export interface VpipeErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: ErrorDetail[];
}

export class VpipeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: ErrorDetail[] | undefined;

  constructor(code: ErrorCode, message: string, opts: VpipeErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VpipeError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  get status(): number {
    return STATUS[this.code];
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details?.length) body.details = this.details;
    return body;
  }

  static is(e: unknown): e is VpipeError {
    return e instanceof VpipeError;
  }

  /** Wraps anything thrown into a VpipeError; unknown errors are internal and retryable (a crash may be transient). */
  static from(e: unknown): VpipeError {
    if (e instanceof VpipeError) return e;
    const message = e instanceof Error ? e.message : String(e);
    return new VpipeError(ErrorCodes.Internal, message, { retryable: true, cause: e });
  }

  /** Rebuilds an error from its wire body (e.g. read back from a persisted job). */
  static fromBody(b: ErrorBody): VpipeError {
    const code = (Object.values(ErrorCodes) as string[]).includes(b.code) ? (b.code as ErrorCode) : ErrorCodes.Internal;
    return new VpipeError(code, b.message, { retryable: b.retryable ?? false, details: b.details });
  }
}
