"""Notifications of the scheduled drift audit: a JSON webhook, a Slack-compatible incoming
webhook, and one issue per environment on GitHub or GitLab (DESIGN.md §7: reports reach people)."""
