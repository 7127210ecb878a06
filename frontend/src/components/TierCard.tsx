// The account's plan: its effective limits with what is in use, its features, and the other tiers.
import type { Features, Limits, Me, Tier } from "../api/types";

export const LIMIT_LABELS: Record<keyof Limits, string> = {
  concurrent_rooms: "Open rooms at a time",
  participants_per_room: "Participants per room",
  room_minutes: "Room length (minutes)",
  history_days: "Transcript history (days)",
  requests_per_hour: "API requests per hour",
  voice_samples: "Voice samples",
  vocabulary_terms: "Custom vocabulary terms",
};

export const FEATURE_LABELS: Record<keyof Features, string> = {
  quick_audio: "Quick audio",
  voice_clone: "Voice cloning",
  diarization: "Speaker diarization",
  document_context: "Document context",
};

const limitValue = (v: number | null) => (v === null ? "Unlimited" : String(v));

function usageOf(me: Me, key: keyof Limits): number | null {
  if (key === "concurrent_rooms") return me.usage.open_rooms;
  if (key === "voice_samples") return me.usage.voice_samples;
  if (key === "vocabulary_terms") return me.usage.vocabulary_terms;
  return null;
}

export function TierCard({ me }: { me: Me }) {
  const { limits, features, tier } = me.effective;
  return (
    <section className="card tier-card" aria-labelledby="plan-title" data-testid="tier-card" data-tier={tier}>
      <h2 id="plan-title">
        Your plan: <span className="tier-name">{tier}</span>
      </h2>
      <dl className="limits">
        {(Object.keys(LIMIT_LABELS) as (keyof Limits)[]).map((key) => {
          const used = usageOf(me, key);
          return (
            <div key={key} data-testid={`limit-${key}`} data-value={limits[key] ?? "unlimited"}>
              <dt>{LIMIT_LABELS[key]}</dt>
              <dd>
                {used !== null && limits[key] !== null ? `${used} of ${limitValue(limits[key])}` : limitValue(limits[key])}
              </dd>
            </div>
          );
        })}
      </dl>
      <ul className="features" aria-label="Features">
        {(Object.keys(FEATURE_LABELS) as (keyof Features)[]).map((key) => (
          <li key={key} data-testid={`feature-${key}`} data-enabled={features[key]} className={features[key] ? "on" : "off"}>
            <span aria-hidden="true">{features[key] ? "✓" : "–"}</span> {FEATURE_LABELS[key]}
            <span className="visually-hidden">{features[key] ? " included" : " not included"}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function TierTable({ tiers, current }: { tiers: Tier[]; current: string }) {
  if (!tiers.length) return null;
  const keys = Object.keys(LIMIT_LABELS) as (keyof Limits)[];
  const featureKeys = Object.keys(FEATURE_LABELS) as (keyof Features)[];
  return (
    <section className="card tiers" aria-labelledby="tiers-title">
      <h2 id="tiers-title">Plans</h2>
      <div className="table-scroll">
        <table data-testid="tier-table">
          <thead>
            <tr>
              <th scope="col">Plan</th>
              {tiers.map((t) => (
                <th key={t.name} scope="col" className={t.name === current ? "current" : undefined}>
                  {t.name}
                  {t.name === current && <span className="badge">yours</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key}>
                <th scope="row">{LIMIT_LABELS[key]}</th>
                {tiers.map((t) => (
                  <td key={t.name} className={t.name === current ? "current" : undefined}>
                    {t.custom && t.limits[key] === null ? "Custom" : limitValue(t.limits[key])}
                  </td>
                ))}
              </tr>
            ))}
            {featureKeys.map((key) => (
              <tr key={key}>
                <th scope="row">{FEATURE_LABELS[key]}</th>
                {tiers.map((t) => (
                  <td key={t.name} className={t.name === current ? "current" : undefined}>
                    {t.features[key] ? "Yes" : "No"}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
