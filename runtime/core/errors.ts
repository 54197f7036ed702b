/**
 * One error base for the whole project: a stable `code` (one of the
 * documented ERROR_CODES), a `retryable` flag that retry policy reads, and a
 * chained `cause`. Subclasses name the failures code decides on — a lost
 * claim, a compare-and-set conflict, a full queue, a tool that failed in a
 * given way, a service's refusal — so nothing is classified by message text.
 * Every boundary maps the base: API → error reply, work queue → nak with
 * delay or term, job → failed event.
 */
import { ERROR_CODES, type ErrorBody, type ErrorCode, type ErrorDetail } from '../../schemas/api.js';

export type { ErrorCode };

/** `ErrorCodes.ToolTimeout === 'TOOL_TIMEOUT'`, … — the names code uses for the wire codes. */
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
  /** VIS found errors in a source an orchestrator was asked to process (the issues in details; the request may override named codes). */
  SourceRejected: 'SOURCE_REJECTED',
  DeadLetter: 'DEAD_LETTER',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const satisfies Record<string, ErrorCode>;

// Every documented code has a name here (and the other way round): checked when this module loads.
for (const c of ERROR_CODES) if (!(Object.values(ErrorCodes) as string[]).includes(c)) throw new Error(`ErrorCodes lacks ${c}`);

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
  SOURCE_REJECTED: 422,
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
    return new VpipeError(b.code, b.message, { retryable: b.retryable ?? false, details: b.details });
  }
}

/** Another instance took the job over (our claim on it is gone): this run stops without settling anything. */
export class ClaimLostError extends VpipeError {
  constructor(what: string) {
    super(ErrorCodes.Unavailable, `${what} was taken over by another instance`, { retryable: false });
    this.name = 'ClaimLostError';
  }
}

/** A compare-and-set write lost to a concurrent one (JetStream's wrong-last-sequence, err_code 10071): read again and retry. */
export class CasConflictError extends VpipeError {
  constructor(what: string, cause?: unknown) {
    super(ErrorCodes.Unavailable, `${what} was changed concurrently`, { retryable: true, cause });
    this.name = 'CasConflictError';
  }
}

/** The work stream refused a message at its limits (VPIPE_MAX_QUEUED_WORK): nothing was queued; try later. */
export class QueueFullError extends VpipeError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.Unavailable, message, { retryable: true, cause });
    this.name = 'QueueFullError';
  }
}

/**
 * How a tool run failed:
 * - `undecodable`: the tool judged the input bad (never retried);
 * - `crashed`: it died by a signal or could not start — a crash of the actor running it;
 * - `oom`: it could not get memory under its cap (may succeed on a quieter node);
 * - `timeout`: it ran past its time limit; `stalled`: it stopped making progress.
 * Timeouts and stalls are slow work, not crashes: they never count against a pool's restart intensity.
 */
export type ToolFailure = 'undecodable' | 'crashed' | 'oom' | 'timeout' | 'stalled';

const TOOL_CODE: Record<ToolFailure, ErrorCode> = {
  undecodable: ErrorCodes.ToolFailed,
  crashed: ErrorCodes.ToolFailed,
  oom: ErrorCodes.ToolFailed,
  timeout: ErrorCodes.ToolTimeout,
  stalled: ErrorCodes.ToolStalled,
};

export class ToolError extends VpipeError {
  constructor(
    readonly failure: ToolFailure,
    message: string,
    opts: Omit<VpipeErrorOptions, 'retryable'> & { retryable?: boolean } = {},
  ) {
    super(TOOL_CODE[failure], message, { ...opts, retryable: opts.retryable ?? failure !== 'undecodable' });
    this.name = 'ToolError';
  }
}

/** A refusal from a service, as a client sees it: the micro-service status and the error body. */
export class ServiceRequestError extends VpipeError {
  constructor(
    readonly statusCode: number,
    readonly body: ErrorBody,
  ) {
    super(body.code, `${body.code}: ${body.message}`, { retryable: body.retryable ?? false, details: body.details });
    this.name = 'ServiceRequestError';
  }
}

/**
 * Whether a failure is the actor dying (counts against the restart intensity) rather than work that may
 * succeed later. Kept apart from `retryable`: a timeout is retryable but is not a crash.
 */
export function isCrash(e: ErrorBody | VpipeError): boolean {
  if (e instanceof ToolError) return e.failure === 'crashed' || e.failure === 'oom';
  if (e instanceof VpipeError) return e.code === ErrorCodes.Internal || e.code === ErrorCodes.ToolFailed;
  return e.code === ErrorCodes.Internal || (e.code === ErrorCodes.ToolFailed && e.retryable === true);
}
