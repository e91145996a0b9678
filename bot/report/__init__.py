"""The monitoring report for safeguarding leads (issue 14): counts only, never who or what.

`questions` counts what the bot was asked; `gaps` keeps (optionally, scrubbed) what it could
not answer; `figures` gathers the numbers; `page` draws the HTML (matplotlib is imported there
only); `summary` posts the monthly summary; `cli` is the `canishare report` command.
"""
