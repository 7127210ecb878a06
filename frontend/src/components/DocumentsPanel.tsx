// The room's documents (Pro; shown to the room's owner only, as the API allows only them): a collapsed
// panel above the call. Opened, it lists the documents (name, size, terms, index status, asked again
// while any is pending), uploads the files picked (each refusal shown with that file) and deletes one
// after a confirmation. On a tier without document_context it says it is a Pro feature and asks the API
// nothing. State and upload loop: ../documents/state.ts.
import { useCallback, useEffect, useReducer, useState, type ChangeEvent } from "react";

import { useApi } from "../api/instance";
import { usePollWhilePending } from "../api/polling";
import type { RoomDocument } from "../api/types";
import {
  ACCEPT,
  documentsReducer,
  formatBytes,
  hasPending,
  initialDocumentsState,
  uploadFiles,
  type DocumentsState,
} from "../documents/state";
import { ErrorNotice } from "./ErrorNotice";

const SHOWN_TERMS = 6;

const STATUS_TEXT: Record<RoomDocument["index_status"], string> = {
  pending: "Indexing…",
  indexed: "Indexed",
  failed: "Indexing failed (its terms are still used)",
};

export interface DocumentsPanelViewProps {
  /** The tier has document_context. */
  allowed: boolean;
  tier: string;
  /** The room has closed: the list stays, uploads and deletes are off. */
  closed: boolean;
  state: DocumentsState;
  open: boolean;
  onToggle: (open: boolean) => void;
  onFiles: (files: File[]) => void;
  onDismiss: (key: string) => void;
  onRetry: () => void;
  /** The document whose deletion awaits confirmation. */
  confirming: string | null;
  onAskDelete: (id: string | null) => void;
  onDelete: (doc: RoomDocument) => void;
  deleteError: unknown;
  onDismissDeleteError: () => void;
}

function DocumentRow({ doc, closed, confirming, onAskDelete, onDelete }: {
  doc: RoomDocument;
  closed: boolean;
  confirming: boolean;
  onAskDelete: (id: string | null) => void;
  onDelete: (doc: RoomDocument) => void;
}) {
  const shown = doc.terms.slice(0, SHOWN_TERMS).join(", ");
  const more = doc.terms.length > SHOWN_TERMS ? ", …" : "";
  return (
    <li
      data-testid="document-row"
      data-name={doc.name}
      data-status={doc.index_status}
      data-terms={doc.terms.length}
      className="document-row"
    >
      <div className="document-info">
        <strong className="document-name">{doc.name}</strong>
        <span className="muted">
          {formatBytes(doc.size_bytes)} · {doc.terms.length} {doc.terms.length === 1 ? "term" : "terms"}
          {shown && <span data-testid="document-terms">: {shown}{more}</span>}
        </span>
        <span className={`index-status ${doc.index_status}`} data-testid="document-status">
          {STATUS_TEXT[doc.index_status]}
          {doc.index_status === "indexed" && ` (${doc.chunk_count} ${doc.chunk_count === 1 ? "chunk" : "chunks"})`}
        </span>
      </div>
      {!closed &&
        (confirming ? (
          <span className="document-confirm" role="group" aria-label={`Delete ${doc.name}?`}>
            <span>Delete {doc.name}?</span>
            <button type="button" className="danger" data-testid="document-delete-confirm" onClick={() => onDelete(doc)}>
              Delete
            </button>
            <button type="button" className="secondary" data-testid="document-delete-cancel" onClick={() => onAskDelete(null)}>
              Cancel
            </button>
          </span>
        ) : (
          <button type="button" className="secondary" data-testid="document-delete" onClick={() => onAskDelete(doc.id)}>
            Delete<span className="visually-hidden"> {doc.name}</span>
          </button>
        ))}
    </li>
  );
}

/** The panel's markup for a given state (no API: DocumentsPanel feeds it). */
export function DocumentsPanelView(props: DocumentsPanelViewProps) {
  const { allowed, tier, closed, state, open, confirming } = props;
  const count = state.docs?.length;
  return (
    <details
      className="card documents-panel"
      data-testid="documents-panel"
      data-allowed={allowed}
      open={open}
      onToggle={(e) => props.onToggle(e.currentTarget.open)}
    >
      <summary data-testid="documents-toggle">
        Documents
        {allowed ? count !== undefined && <span className="muted"> ({count})</span> : <span className="badge">Pro</span>}
      </summary>
      {!allowed ? (
        <p className="muted" data-testid="documents-pro-only">
          Document context is a Pro feature: upload an agenda or a glossary and the captions spell its names and
          terms right. Your plan ({tier}) does not include it.
        </p>
      ) : (
        <div className="documents-body">
          <p className="muted">
            Agendas, glossaries, minutes: their names and rare words help the captions get them right. Plain text,
            Markdown, PDF (with a text layer) or DOCX.
          </p>
          {!closed && (
            <label className="file-pick">
              Add documents
              <input
                type="file"
                multiple
                accept={ACCEPT}
                data-testid="documents-input"
                onChange={(e: ChangeEvent<HTMLInputElement>) => {
                  const files = Array.from(e.currentTarget.files ?? []);
                  e.currentTarget.value = ""; // the same file may be picked again
                  if (files.length) props.onFiles(files);
                }}
              />
            </label>
          )}
          <p className="muted documents-status" role="status" data-testid="documents-status">
            {state.announcement}
          </p>
          <ErrorNotice error={state.loadError} onRetry={props.onRetry} />
          <ErrorNotice error={props.deleteError} onDismiss={props.onDismissDeleteError} />
          {state.uploads.length > 0 && (
            <ul className="document-list uploads" aria-label="Uploads" data-testid="upload-list">
              {state.uploads.map((u) => (
                <li key={u.key} data-testid="document-upload" data-name={u.name} data-status={u.status} className="document-row">
                  <div className="document-info">
                    <strong className="document-name">{u.name}</strong>
                    <span className="muted">
                      {formatBytes(u.size)} · {u.status === "waiting" ? "Waiting…" : u.status === "uploading" ? "Uploading…" : "Not added"}
                    </span>
                    {u.status === "refused" && <ErrorNotice error={u.error} onDismiss={() => props.onDismiss(u.key)} />}
                  </div>
                </li>
              ))}
            </ul>
          )}
          {state.docs === null ? (
            !state.loadError && <p className="muted">Loading…</p>
          ) : state.docs.length === 0 ? (
            <p className="muted" data-testid="no-documents">
              No documents yet.
            </p>
          ) : (
            <ul className="document-list" aria-label="Documents" data-testid="document-list">
              {state.docs.map((doc) => (
                <DocumentRow
                  key={doc.id}
                  doc={doc}
                  closed={closed}
                  confirming={confirming === doc.id}
                  onAskDelete={props.onAskDelete}
                  onDelete={props.onDelete}
                />
              ))}
            </ul>
          )}
        </div>
      )}
    </details>
  );
}

interface Props {
  roomId: string;
  allowed: boolean;
  tier: string;
  closed: boolean;
}

/** The panel with its API calls: the list once opened (and again while documents are pending), uploads, deletes. */
export function DocumentsPanel({ roomId, allowed, tier, closed }: Props) {
  const api = useApi();
  const [state, dispatch] = useReducer(documentsReducer, initialDocumentsState);
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);

  const load = useCallback(
    () =>
      api.documents(roomId).then(
        (docs) => dispatch({ type: "loaded", docs }),
        (error) => dispatch({ type: "load_failed", error }),
      ),
    [api, roomId],
  );

  // The list, each time the panel opens (nothing is asked on a tier without the feature).
  useEffect(() => {
    if (allowed && open) void load();
  }, [allowed, open, load]);

  // While a document is pending and the panel open: ask again, less and less often (until closed and opened).
  usePollWhilePending(allowed && open && hasPending(state.docs), load);

  async function remove(doc: RoomDocument) {
    setConfirming(null);
    setDeleteError(null);
    try {
      await api.deleteDocument(roomId, doc.id);
      dispatch({ type: "deleted", id: doc.id, name: doc.name });
    } catch (error) {
      setDeleteError(error);
    }
  }

  return (
    <DocumentsPanelView
      allowed={allowed}
      tier={tier}
      closed={closed}
      state={state}
      open={open}
      onToggle={setOpen}
      onFiles={(files) => void uploadFiles(api, roomId, files, dispatch)}
      onDismiss={(key) => dispatch({ type: "dismiss", key })}
      onRetry={() => void load()}
      confirming={confirming}
      onAskDelete={setConfirming}
      onDelete={(doc) => void remove(doc)}
      deleteError={deleteError}
      onDismissDeleteError={() => setDeleteError(null)}
    />
  );
}
