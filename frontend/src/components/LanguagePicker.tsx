// A language <select> over the choices the server publishes (see ../languages.ts); disabled with a
// "Loading…" option until the catalogue is in.
import type { Language } from "../languages";

interface Props {
  label: string;
  testId: string;
  value: string | null;
  options: Language[];
  onChange: (code: string) => void;
  disabled?: boolean;
  /** The picker's tooltip (e.g. how captions reach the chosen language). */
  hint?: string;
}

export function LanguagePicker({ label, testId, value, options, onChange, disabled, hint }: Props) {
  const loading = options.length === 0;
  return (
    <label className="inline language-picker">
      <span>{label}</span>
      <select
        data-testid={testId}
        value={value ?? ""}
        disabled={disabled || loading}
        title={hint}
        onChange={(e) => onChange(e.target.value)}
      >
        {loading ? (
          <option value="">Loading languages…</option>
        ) : (
          options.map((l) => (
            <option key={l.code} value={l.code}>
              {l.code === "auto" ? l.name : `${l.name} (${l.code})`}
            </option>
          ))
        )}
      </select>
    </label>
  );
}
