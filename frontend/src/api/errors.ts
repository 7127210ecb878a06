// The API's error bodies (services/babelroom/api/errors.py) as one exception with a message for people.
//
// Every error is JSON {error, detail}. Tier limits (403, and 429 for the request rate) add limit,
// allowed, tier, current, resets_at, reset_hint, retry_after_s; a full pool (503) adds pool and
// retry_after_s; 429 and 503 carry a Retry-After header. Validation errors are FastAPI's 422
// {detail: [{loc, msg}]}; refused uploads (documents, voice samples) add ``reason``. Anything else (a proxy's HTML page, a dropped connection) still becomes an
// ApiError, so callers handle one type.

import type { CapacityErrorBody, DocumentErrorBody, LimitErrorBody } from "./types";

/** Any field of the API's error bodies, unchecked: the body may also come from a proxy. */
type ErrorFields = Partial<Record<keyof LimitErrorBody | keyof CapacityErrorBody | keyof DocumentErrorBody, unknown>>;

export class ApiError extends Error {
  readonly status: number;
  /** Stable code: tier_limit, rate_limited, no_capacity, unauthorized, not_found, network … */
  readonly code: string;
  readonly detail: string;
  readonly limit: string | null;
  readonly allowed: number | null;
  readonly tier: string | null;
  readonly current: number | null;
  readonly resetsAt: Date | null;
  readonly resetHint: string | null;
  readonly retryAfterS: number | null;
  readonly pool: string | null;
  /** Why an upload was refused (too_large, unsupported_type, corrupt …; also not_owner on a 403). */
  readonly reason: string | null;

  constructor(status: number, code: string, detail: string, extra: Partial<ApiErrorFields> = {}) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.limit = extra.limit ?? null;
    this.allowed = extra.allowed ?? null;
    this.tier = extra.tier ?? null;
    this.current = extra.current ?? null;
    this.resetsAt = extra.resetsAt ?? null;
    this.resetHint = extra.resetHint ?? null;
    this.retryAfterS = extra.retryAfterS ?? null;
    this.pool = extra.pool ?? null;
    this.reason = extra.reason ?? null;
  }
}

export interface ApiErrorFields {
  limit: string | null;
  allowed: number | null;
  tier: string | null;
  current: number | null;
  resetsAt: Date | null;
  resetHint: string | null;
  retryAfterS: number | null;
  pool: string | null;
  reason: string | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (header == null || header.trim() === "") return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function validationDetail(detail: unknown): string | null {
  if (!Array.isArray(detail)) return null;
  const parts = detail.map((d) => {
    const item = d as { loc?: unknown[]; msg?: string };
    const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
    return where ? `${where}: ${item.msg ?? "invalid"}` : item.msg ?? "invalid";
  });
  return parts.join("; ");
}

/** An ApiError from a body already read (``body`` is the parsed JSON, or the text if it was not JSON). */
export function apiErrorFrom(status: number, statusText: string, body: unknown, retryAfter: string | null): ApiError {
  const headerRetry = parseRetryAfter(retryAfter);
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const b = body as ErrorFields;
    const detail = str(b.detail) ?? validationDetail(b.detail) ?? (statusText || `HTTP ${status}`);
    const code = str(b.error) ?? (status === 422 ? "validation_error" : `http_${status}`);
    const resets = str(b.resets_at);
    const resetsAt = resets && !Number.isNaN(Date.parse(resets)) ? new Date(resets) : null;
    return new ApiError(status, code, detail, {
      limit: str(b.limit),
      allowed: num(b.allowed),
      tier: str(b.tier),
      current: num(b.current),
      resetsAt,
      resetHint: str(b.reset_hint),
      retryAfterS: num(b.retry_after_s) ?? headerRetry,
      pool: str(b.pool),
      reason: str(b.reason),
    });
  }
  const text = typeof body === "string" && body.trim() && body.length < 300 && !body.includes("<") ? body.trim() : "";
  return new ApiError(status, `http_${status}`, text || statusText || `HTTP ${status}`, { retryAfterS: headerRetry });
}

/** Read a failed Response into an ApiError. */
export async function parseApiError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  const raw = await response.text().catch(() => "");
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    body = raw;
  }
  return apiErrorFrom(response.status, response.statusText, body, response.headers.get("Retry-After"));
}

function formatTime(at: Date): string {
  return at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function formatSeconds(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

/** One or two sentences for people: what failed and when it can work again. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const parts: string[] = [];
  if (error.limit) {
    const tier = error.tier ? ` (${error.tier} tier)` : "";
    const allowed =
      error.allowed == null ? "not included" : `${error.allowed}${error.current != null ? `, ${error.current} in use` : ""}`;
    parts.push(`Limit reached: ${error.limit}${tier}: ${allowed}. ${error.detail}.`);
  } else if (error.pool) {
    parts.push(`No capacity: ${error.detail} (pool: ${error.pool}).`);
  } else {
    parts.push(error.detail.endsWith(".") ? error.detail : `${error.detail}.`);
  }
  if (error.resetsAt) parts.push(`Resets at ${formatTime(error.resetsAt)}.`);
  else if (error.resetHint) parts.push(`${error.resetHint[0].toUpperCase()}${error.resetHint.slice(1)}.`);
  if (error.retryAfterS != null) parts.push(`Try again in ${formatSeconds(error.retryAfterS)}.`);
  return parts.join(" ");
}
