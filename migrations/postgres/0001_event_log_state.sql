-- The event log's two counters start at 0 (mysql/0003_event_log.sql does the same).
INSERT INTO "event_log_state" ("name", "value") VALUES ('last', 0), ('pruned', 0);
