"""The monitoring report for safeguarding leads (issue 14): counts only, never who or what.

The service counts what the bot was asked (store migration 2); `gaps` keeps, only if asked to
and scrubbed, what it could not answer; `period` and `figures` gather the numbers; `page` and
`charts` draw the HTML (matplotlib is imported there only); `summary` queues the monthly
summary; `cli` is `canishare report` and `canishare knowledge gaps`.
"""
