"""The notification relay (``envwatch notify``): Alertmanager webhooks to WeCom and DingTalk
robot messages in Chinese, with plain JSON as the fallback. ``format`` is pure; ``server`` is
the aiohttp application."""
