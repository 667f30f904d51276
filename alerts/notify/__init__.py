"""What the notification relay says, pure: the words of a message (``format``, ``standing``),
the signed acknowledgement codes (``tokens``), the escalation waits (``escalation``) and the
rows of an alert's history (``history``). The relay itself, an HTTP service, is in
``streams/relay``.
"""
