"""Internal OA channels: one adapter per account type, sharing ``common`` and ``sandbox``.

wecom_app    WeCom application message (card or markdown, token shared by all workers)
wecom_robot  WeCom group robot
dingtalk     DingTalk custom robot (signed)
feishu       Feishu / Lark custom bot (signed)
oa_webhook   the bureau's own OA through the generic JSON webhook
"""
