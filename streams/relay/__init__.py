"""The notification relay: Alertmanager's webhooks in, the on-call groups' robots out, with
acknowledgement and escalation. The I/O is here; what the messages say and how codes are
signed are pure, in ``alerts/notify``."""
