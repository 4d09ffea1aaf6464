-- Sync records are looked up by id alone (a push loads the records its
-- mutations touch; ids are UUIDs, unique across kinds), which the primary
-- key (kind, id) cannot serve.
CREATE INDEX sync_records_id ON sync_records(id);
