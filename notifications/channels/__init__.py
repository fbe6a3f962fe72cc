"""Delivery channels besides mail: 企业微信 and 钉钉 group robots, and an HTTP SMS gateway.

Each channel sends one pre-rendered ``ChannelMessage`` with an ``httpx.AsyncClient`` and returns a
``DeliveryResult`` (sent / retry_later / failed) that keeps the service's raw answer and never a
credential. Import the module you need:

- ``base``       — ``ChannelMessage``, ``DeliveryResult``, the ``Channel`` protocol, ``redact(url)``.
- ``wecom``      — ``WeComConfig``, ``WeComChannel``.
- ``dingtalk``   — ``DingTalkConfig``, ``DingTalkChannel``, ``sign``, ``validate_secret``.
- ``sms``        — ``SmsGatewayConfig``, ``SmsGateway`` (``.channel(phone)``), ``validate_template``.
- ``ratelimit``  — ``wait_time`` (pure sliding window), ``SlidingWindowLimiter``.
- ``limited``    — ``RateLimited(channel, limiter, clock)``.
- ``validation`` — ``validate_webhook_url``, ``validate_phone``, ``validate_keyword``.
- ``markdown``   — escaping user text for the robots' markdown.
"""
