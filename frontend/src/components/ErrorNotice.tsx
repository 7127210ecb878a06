// An API error as the user sees it: what failed, which tier limit, when it resets, when to retry.
import { ApiError, describeError } from "../api/errors";

interface Props {
  error: unknown;
  onDismiss?: () => void;
  onRetry?: () => void;
}

function title(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong";
  if (error.status === 403 && error.limit) return "Your plan's limit is reached";
  if (error.status === 403) return "Not allowed";
  if (error.status === 429) return "Too many requests";
  if (error.status === 503) return "The service is full right now";
  if (error.status === 0) return "Cannot reach the server";
  if (error.status === 401) return "Please sign in again";
  if (error.status === 404) return "Not found";
  if (error.status === 409) return "Conflict";
  if (error.status === 413) return "Too large";
  if (error.status === 415) return "Not a supported file type";
  if (error.status === 422 && error.reason) return "Not accepted";
  return `Error ${error.status}`;
}

export function ErrorNotice({ error, onDismiss, onRetry }: Props) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  return (
    <div
      className="error-notice"
      role="alert"
      data-testid="api-error"
      data-status={api?.status}
      data-code={api?.code}
      data-limit={api?.limit ?? undefined}
      data-reason={api?.reason ?? undefined}
      data-retry-after={api?.retryAfterS ?? undefined}
    >
      <strong>{title(error)}</strong>
      <p>{describeError(error)}</p>
      {(onRetry || onDismiss) && (
        <div className="error-actions">
          {onRetry && (
            <button type="button" onClick={onRetry}>
              Try again
            </button>
          )}
          {onDismiss && (
            <button type="button" className="secondary" onClick={onDismiss}>
              Dismiss
            </button>
          )}
        </div>
      )}
    </div>
  );
}
