-- Acknowledgements and escalations (the relay, `envwatch notify`), beside the worker's
-- transitions: who acknowledged an alert instance and when, and to whom it was escalated.
-- An instance is Alertmanager's fingerprint of its labels and the time it began firing.
ALTER TABLE alert_history DROP CONSTRAINT IF EXISTS alert_history_transition_check;
ALTER TABLE alert_history ADD CONSTRAINT alert_history_transition_check
    CHECK (transition IN ('firing', 'resolved', 'acknowledged', 'escalated'));

ALTER TABLE alert_history ADD COLUMN IF NOT EXISTS alertname   text;
-- who acknowledged; the receiver an escalation went to
ALTER TABLE alert_history ADD COLUMN IF NOT EXISTS actor       text;
ALTER TABLE alert_history ADD COLUMN IF NOT EXISTS fingerprint text;
ALTER TABLE alert_history ADD COLUMN IF NOT EXISTS starts_at   timestamptz;

CREATE INDEX IF NOT EXISTS alert_history_instance
    ON alert_history (fingerprint, starts_at) WHERE fingerprint IS NOT NULL;
