"""The `/api` blueprint: JSON errors and one nested blueprint per area (models,
conversations, uploads) with what they share.

Never imports relay, ws or serve."""
