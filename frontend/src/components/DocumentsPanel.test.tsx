// The documents panel's markup in each state (the browser test relies on its data-testid and data-*).
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { ApiError } from "../api/errors";
import { documentsReducer, initialDocumentsState, type DocumentsAction, type DocumentsState } from "../documents/state";
import { doc } from "../documents/testDocs";
import { DocumentsPanelView, type DocumentsPanelViewProps } from "./DocumentsPanel";

const noop = () => undefined;

function render(state: DocumentsState, extra: Partial<DocumentsPanelViewProps> = {}): string {
  return renderToStaticMarkup(
    <DocumentsPanelView
      allowed
      tier="pro"
      closed={false}
      state={state}
      open
      onToggle={noop}
      onFiles={noop}
      onDismiss={noop}
      onRetry={noop}
      confirming={null}
      onAskDelete={noop}
      onDelete={noop}
      deleteError={null}
      onDismissDeleteError={noop}
      {...extra}
    />,
  );
}

const state = (...actions: DocumentsAction[]) => actions.reduce(documentsReducer, initialDocumentsState);

describe("DocumentsPanelView", () => {
  it("says it is a Pro feature on another tier, with no form", () => {
    const html = render(initialDocumentsState, { allowed: false, tier: "free" });
    expect(html).toContain('data-allowed="false"');
    expect(html).toContain('data-testid="documents-pro-only"');
    expect(html).toContain("Document context is a Pro feature");
    expect(html).toContain("Your plan (free) does not include it");
    expect(html).toMatch(/<summary[^>]*>Documents<span class="badge">Pro<\/span><\/summary>/);
    expect(html).not.toContain('type="file"');
  });

  it("is a collapsed panel until opened", () => {
    const html = render(initialDocumentsState, { open: false });
    expect(html).toMatch(/^<details class="card documents-panel" data-testid="documents-panel" data-allowed="true">/);
  });

  it("offers a labelled multi-file picker and a live status line", () => {
    const html = render(state({ type: "loaded", docs: [] }));
    expect(html).toMatch(/<label class="file-pick">Add documents<input type="file" multiple="" accept="\.txt,\.md,[^"]*\.pdf,\.docx,/);
    expect(html).toContain('role="status" data-testid="documents-status"');
    expect(html).toContain('data-testid="no-documents"');
  });

  it("lists documents with size, terms and index status (pending, indexed)", () => {
    const terms = ["Gutenberg", "Mainz", "Schoeffer", "Fust", "typography", "letterpress", "Netherlands"];
    const html = render(
      state({
        type: "loaded",
        docs: [
          doc("agenda.md", { index_status: "pending", size_bytes: 14_000, terms }),
          doc("glossary.pdf", { index_status: "indexed", chunk_count: 4, terms: ["Topflappen"] }),
        ],
      }),
    );
    expect(html).toContain("Documents<span class=\"muted\"> (2)</span>");
    expect(html).toContain('data-testid="document-row" data-name="agenda.md" data-status="pending" data-terms="7"');
    expect(html).toContain("14 KB · 7 terms<span data-testid=\"document-terms\">: Gutenberg, Mainz, Schoeffer, Fust, typography, letterpress, …</span>");
    expect(html).toContain('<span class="index-status pending" data-testid="document-status">Indexing…</span>');
    expect(html).toContain('data-name="glossary.pdf" data-status="indexed" data-terms="1"');
    expect(html).toContain("1 term<span data-testid=\"document-terms\">: Topflappen</span>");
    expect(html).toContain('<span class="index-status indexed" data-testid="document-status">Indexed (4 chunks)</span>');
    expect(html).toContain("Delete<span class=\"visually-hidden\"> agenda.md</span>");
  });

  it("shows one file's refusal in words while another file uploads", () => {
    const html = render(
      state(
        { type: "loaded", docs: [] },
        {
          type: "queued",
          uploads: [
            { key: "k1", name: "photo.png", size: 4000 },
            { key: "k2", name: "agenda.md", size: 900 },
          ],
        },
        { type: "uploading", key: "k1" },
        {
          type: "refused",
          key: "k1",
          error: new ApiError(415, "document_refused", "a PNG file: upload PDF, DOCX, plain text or Markdown (UTF-8)", {
            reason: "unsupported_type",
          }),
        },
        { type: "uploading", key: "k2" },
      ),
    );
    expect(html).toContain('data-testid="document-upload" data-name="photo.png" data-status="refused"');
    expect(html).toContain('data-status="415" data-code="document_refused" data-reason="unsupported_type"');
    expect(html).toContain("<strong>Not a supported file type</strong><p>a PNG file: upload PDF, DOCX, plain text or Markdown (UTF-8).</p>");
    expect(html).toContain('data-testid="document-upload" data-name="agenda.md" data-status="uploading"');
    expect(html).toContain("900 B · Uploading…");
    expect(html).toContain("Uploading agenda.md…");
  });

  it("words the other refusals (413, 422 encrypted)", () => {
    const html = render(
      state(
        { type: "queued", uploads: [{ key: "k1", name: "big.pdf", size: 11e6 }, { key: "k2", name: "secret.pdf", size: 9000 }] },
        { type: "refused", key: "k1", error: new ApiError(413, "document_refused", "the document is larger than 10 MB", { reason: "too_large" }) },
        {
          type: "refused",
          key: "k2",
          error: new ApiError(422, "document_refused", "the PDF is encrypted with a password: upload it without one", { reason: "encrypted" }),
        },
      ),
    );
    expect(html).toContain("<strong>Too large</strong><p>the document is larger than 10 MB.</p>");
    expect(html).toContain("<strong>Not accepted</strong><p>the PDF is encrypted with a password: upload it without one.</p>");
  });

  it("asks before deleting, and has no upload or delete once the room has closed", () => {
    const loaded = state({ type: "loaded", docs: [doc("agenda.md"), doc("notes.txt")] });
    const html = render(loaded, { confirming: "id-agenda.md" });
    expect(html).toContain('role="group" aria-label="Delete agenda.md?"');
    expect(html).toContain('data-testid="document-delete-confirm"');
    expect(html).toContain('data-testid="document-delete-cancel"');
    expect(html.match(/data-testid="document-delete"/g)).toHaveLength(1); // notes.txt's own button
    const closed = render(loaded, { closed: true });
    expect(closed).not.toContain('type="file"');
    expect(closed).not.toContain("document-delete");
    expect(closed).toContain('data-name="notes.txt"');
  });
});
