"""Notifications out of the app (issue 12): e-mail and SMS to citizens and opted-in staff.

`outbox` decides them where the case's events are projected (same transaction, one row per
case, event, recipient and channel); `delivery` sends what is due through a `Notifier`
(`mail` over SMTP, `sms` through a gateway, logged by default); `messages` holds the zh-CN text;
`preferences` what staff opted in to; `contacts` the e-mail a reporter left.
"""
