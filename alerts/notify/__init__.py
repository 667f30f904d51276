"""The notification relay (``envwatch notify``): Alertmanager webhooks to WeCom and DingTalk
robot messages in Chinese, with plain JSON as the fallback; acknowledgement of alerts (signed
codes, Alertmanager silences, ``alert_history``) and the series the escalation rules read.

Pure: ``format``, ``standing`` (the words of a message), ``tokens``, ``escalation`` (waits),
``history`` (rows). I/O: ``server`` (the aiohttp application), ``ack_http`` (the acknowledge
endpoints), ``acknowledge`` and ``escalated`` (what follows an acknowledgement, an escalation),
``alertmanager`` (its API). ``config`` builds the relay's configuration from the settings the
command passes in.
"""
