"""The fictional City of Riverton: a complete demo city hall, loaded by `civicdesk demo`.

`organisation` (teams, queues, staff, calendar, SLA policies), `catalogue` (services, questions,
keyword rules) and `history` (~300 cases over 120 days, created through the case services).
Everything is written in code and seeded, so every load is the same.
"""
